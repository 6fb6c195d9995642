import gc
import threading

import pytest

from pgbackup import Context, Error, Options


def test_closing_a_context_closes_its_options_first():
    context = Context()
    options = Options(context)
    options.set("jobs", "2")
    context.close()
    assert context.closed
    with pytest.raises(Error) as raised:
        options.get("jobs")
    assert raised.value.code == -3
    assert "closed" in raised.value.message


def test_close_is_idempotent_and_collection_is_safe():
    with Context() as context:
        options = Options(context)
        options.close()
        options.close()
    context.close()
    Options(Context())  # dropped at once: __del__ frees options, then the context
    gc.collect()


def test_errors_of_one_context_do_not_leak_into_another():
    first, second = Options(), Options()
    with pytest.raises(Error):
        first.set("jobs", "zero")
    second.set("jobs", "2")
    with pytest.raises(Error) as raised:
        second.set("compres", "lz4")
    assert "compres" in raised.value.message
    assert "zero" not in raised.value.message


def test_threads_sharing_a_context_each_get_their_own_error():
    options = Options()
    wrong = []

    def misuse(key):
        for _ in range(200):
            try:
                options.set(key, "x")
            except Error as error:
                if f"'{key}'" not in error.message:
                    wrong.append(error.message)
                    return

    threads = [threading.Thread(target=misuse, args=(f"no-such-option-{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
