package runbooker

import (
	"encoding/json"
	"strings"
	"time"
)

// StreamType is the stream a record was written to, as Azure Automation names them.
type StreamType string

// Stream types.
const (
	StreamOutput      StreamType = "Output"
	StreamError       StreamType = "Error"
	StreamWarning     StreamType = "Warning"
	StreamVerbose     StreamType = "Verbose"
	StreamDebug       StreamType = "Debug"
	StreamProgress    StreamType = "Progress"
	StreamInformation StreamType = "Information"
)

// AllStreamTypes lists every stream type.
var AllStreamTypes = []StreamType{StreamOutput, StreamError, StreamWarning, StreamVerbose,
	StreamDebug, StreamProgress, StreamInformation}

// ParseStreamType maps a name, in any letter case, to its stream type.
func ParseStreamType(s string) (StreamType, bool) {
	for _, t := range AllStreamTypes {
		if strings.EqualFold(s, string(t)) {
			return t, true
		}
	}
	return "", false
}

// StreamRecord is one record a job wrote. Seq is assigned at the source and
// is unique and increasing within a job across all its attempts; records are
// always returned in Seq order, which is emission order.
type StreamRecord struct {
	Seq   int64           `json:"seq"`
	Time  time.Time       `json:"time"`
	Type  StreamType      `json:"streamType"`
	Text  string          `json:"streamText"`
	Value json.RawMessage `json:"value,omitempty"` // structured output (JSON) when the runbook wrote an object
}

// StreamFilter selects a job's records.
type StreamFilter struct {
	After int64        // only records with Seq > After
	Types []StreamType // empty: all
	Limit int          // 0: no limit
}
