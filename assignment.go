package runbooker

import "encoding/json"

// Assignment is a claimed job as its worker receives it: the job, the exact
// source of the version it pins, and the settings of its worker group. The
// engine builds it, once for every kind of worker; it is also the wire type
// of the worker protocol's claim answer.
//
// The job is embedded, so a.ID and a.Attempt read as the job's own fields;
// on the wire it stays the "job" member.
type Assignment struct {
	*Job   `json:"job"`
	Script []byte `json:"script"`
	// Group carries the settings of the job's worker group (runtime limit,
	// RunAs, limits, PowerShell edition); nil when the group has none.
	Group *WorkerGroup `json:"group,omitempty"`
	// OutputLimit, when set, is how many bytes of records the job may still
	// store under its tenant's quota of stored output; the worker keeps
	// no more than that (nor than its own per-job cap) and says so in a
	// Warning record.
	OutputLimit *int64 `json:"outputLimit,omitempty"`
	// Identity, when set, says the job's tenant has a managed identity:
	// the worker gives the job IDENTITY_ENDPOINT and IDENTITY_HEADER.
	Identity *JobIdentity `json:"identity,omitempty"`
	// Modules are the uploaded module and package versions the job needs
	// (the runbook's #Requires -Modules or # requirements: line, resolved
	// when it was claimed); the worker fetches each by its SHA-256.
	Modules []ModuleRef `json:"modules,omitempty"`
	// Ready, when set (in process only, never on the wire), must return
	// nil before the job's process may start: the job was handed over
	// while the write creating it was still committing (engine direct
	// dispatch to the built-in worker), and Ready waits for that write.
	Ready func() error `json:"-"`
}

// assignmentJSON is Assignment on the wire, with the job's parameters
// written by EncodeParameters: a worker reads the values with the types
// they were bound to. Older workers read it as plain JSON, as before.
type assignmentJSON struct {
	Job    *jobJSON     `json:"job"`
	Script []byte       `json:"script"`
	Group  *WorkerGroup `json:"group,omitempty"`
	Limit  *int64       `json:"outputLimit,omitempty"`
	Ident  *JobIdentity `json:"identity,omitempty"`
	Mods   []ModuleRef  `json:"modules,omitempty"`
}

type jobJSON struct {
	*Job
	Parameters json.RawMessage `json:"parameters"` // shadows Job.Parameters
}

// MarshalJSON implements json.Marshaler.
func (a Assignment) MarshalJSON() ([]byte, error) {
	w := assignmentJSON{Script: a.Script, Group: a.Group, Limit: a.OutputLimit, Ident: a.Identity, Mods: a.Modules}
	if a.Job != nil {
		params, err := EncodeParameters(a.Job.Parameters)
		if err != nil {
			return nil, err
		}
		w.Job = &jobJSON{Job: a.Job, Parameters: params}
	}
	return json.Marshal(w)
}

// UnmarshalJSON implements json.Unmarshaler.
func (a *Assignment) UnmarshalJSON(data []byte) error {
	var w assignmentJSON
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*a = Assignment{Script: w.Script, Group: w.Group, OutputLimit: w.Limit, Identity: w.Ident, Modules: w.Mods}
	if w.Job != nil {
		a.Job = w.Job.Job
		if a.Job == nil {
			a.Job = &Job{}
		}
		a.Job.Parameters = nil
		if len(w.Job.Parameters) > 0 {
			params, err := DecodeParameters(w.Job.Parameters)
			if err != nil {
				return err
			}
			a.Job.Parameters = params
		}
	}
	return nil
}
