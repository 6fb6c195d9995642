/*
 * The main() of every CUnit test program: run the suites, print CUnit's
 * summary, exit non-zero when anything failed.
 */
#ifndef PGB_TEST_MAIN_H
#define PGB_TEST_MAIN_H

#include <CUnit/Basic.h>

static inline int pgb_test_run(CU_SuiteInfo *suites)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    if (CU_register_suites(suites) != CUE_SUCCESS) {
        CU_cleanup_registry();
        return 1;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failures = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    int errors = CU_get_error() != CUE_SUCCESS;
    CU_cleanup_registry();
    return failures || errors ? 1 : 0;
}

#endif
