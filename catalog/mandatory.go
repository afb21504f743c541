package catalog

import (
	"fmt"

	"github.com/runbooker/runbooker"
)

// refuseEmptyMandatoryDefaults drops a "" (or @()) default of a mandatory
// parameter, with a warning: PowerShell refuses to bind an empty string or
// array to a mandatory parameter, so passing that default (as jobs do for
// mandatory parameters, see runbooker.BindParameters) would fail every job
// that leaves the parameter out. Callers must give a value instead.
func refuseEmptyMandatoryDefaults(meta *runbooker.RunbookMeta) {
	for i := range meta.Parameters {
		p := &meta.Parameters[i]
		if !p.Mandatory || p.Default == nil || runbooker.UsableMandatoryDefault(*p) {
			continue
		}
		what := `""`
		if _, ok := p.Default.(string); !ok {
			what = "@()"
		}
		p.Default = nil
		meta.Warnings = append(meta.Warnings, runbooker.ParseError{Source: "script", Message: fmt.Sprintf(
			"parameter $%s is mandatory with the default %s, which PowerShell refuses for a mandatory parameter: "+
				"the default is ignored and callers must give a value", p.Name, what)})
	}
}
