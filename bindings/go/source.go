package pgbackup

// #include <pgbackup/options.h>
import "C"

// Source tells where an option's value came from, lowest precedence first.
type Source int

const (
	SourceDefault     = Source(C.PGB_SOURCE_DEFAULT)
	SourceFile        = Source(C.PGB_SOURCE_FILE)
	SourceEnvironment = Source(C.PGB_SOURCE_ENVIRONMENT)
	SourceExplicit    = Source(C.PGB_SOURCE_EXPLICIT)
)

func (s Source) String() string {
	switch s {
	case SourceDefault:
		return "default"
	case SourceFile:
		return "file"
	case SourceEnvironment:
		return "environment"
	case SourceExplicit:
		return "explicit"
	}
	return "unknown"
}

// OptionNames lists every option of the registry, in the library's order.
func OptionNames() []string {
	count := int(C.pgb_option_count())
	names := make([]string, 0, count)
	for i := 0; i < count; i++ {
		names = append(names, C.GoString(C.pgb_option_name(C.size_t(i))))
	}
	return names
}
