package runbooker

// JobTarget is the directory object a job acts on.
type JobTarget struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}
