package apitype

import "time"

// VoteRequest is the body of POST /api/v1/moderation/vote.
type VoteRequest struct {
	Ref    string `json:"ref"`
	Choice string `json:"choice"` // keep | remove
	Reason string `json:"reason,omitempty"`
}

// AnnotateRequest is the body of POST /api/v1/moderation/annotate.
type AnnotateRequest struct {
	Ref    string            `json:"ref"`
	Tags   []string          `json:"tags,omitempty"`
	Titles map[string]string `json:"titles,omitempty"` // language → title
	Note   string            `json:"note,omitempty"`
}

// Delivery is the outcome of Vote and Annotate.
type Delivery struct {
	Package     string             `json:"package"`
	Kind        string             `json:"kind"` // vote | annotation
	Choice      string             `json:"choice,omitempty"`
	Author      string             `json:"author"` // peer ID of the voter or annotator
	WorkBits    int                `json:"work_bits"`
	WorkSeconds float64            `json:"work_seconds"`
	Aggregators []AggregatorAnswer `json:"aggregators"`
	Accepted    int                `json:"accepted"`
}

// AggregatorAnswer is one aggregator's answer to a delivery.
type AggregatorAnswer struct {
	Peer   string `json:"peer"`
	Result string `json:"result,omitempty"` // added, replaced, …
	Error  string `json:"error,omitempty"`
}

// TallyReport is a node's view of a package's poll: the tallies it used
// and ignored, its policy and its decision.
type TallyReport struct {
	Package     string      `json:"package"`
	Decision    string      `json:"decision"` // keep | remove | undecided
	Withheld    bool        `json:"withheld"`
	Reason      string      `json:"reason"`
	Keep        int         `json:"keep"`            // combined counted keep votes
	Remove      int         `json:"remove"`          // combined counted remove votes
	Local       string      `json:"local,omitempty"` // allow | deny: this node's own rule
	Policy      PolicyInfo  `json:"policy"`
	Aggregators int         `json:"aggregators"` // asked
	Tallies     []TallyInfo `json:"tallies"`
	Errors      []string    `json:"errors,omitempty"` // aggregators that did not answer usefully
	Verified    bool        `json:"verified,omitempty"`
	Checked     time.Time   `json:"checked"`               // when the tallies were gathered
	Stale       bool        `json:"stale,omitempty"`       // not refreshed for longer than moderation.refresh
	Age         int64       `json:"age,omitempty"`         // seconds since Checked, when stale
	Retracted   string      `json:"retracted,omitempty"`   // the publisher's retraction, in words
	Explanation string      `json:"explanation,omitempty"` // the decision in one paragraph
}

// PolicyInfo is the policy a decision was made under.
type PolicyInfo struct {
	MinVotes    int      `json:"min_votes"`
	RemoveRatio float64  `json:"remove_ratio"`
	MinTallies  int      `json:"min_tallies"`
	Aggregators int      `json:"aggregators"`
	PowBits     int      `json:"pow_bits"`
	Trusted     []string `json:"trusted"`
	Distrusted  []string `json:"distrusted"`
}

// TallyInfo is one aggregator's signed tally.
type TallyInfo struct {
	Signer  string    `json:"signer"` // peer ID
	Keep    int       `json:"keep"`
	Remove  int       `json:"remove"`
	Digest  string    `json:"digest"` // hex
	Time    time.Time `json:"time"`
	Used    bool      `json:"used"`
	Ignored string    `json:"ignored,omitempty"` // why not used
	Recount string    `json:"recount,omitempty"` // "ok" after --verify
}

// ModerationRule is a local override.
type ModerationRule struct {
	Package string `json:"package"`
	Rule    string `json:"rule"` // allow | deny | "" (cleared)
	Title   string `json:"title,omitempty"`
}

// ModerationRuleRequest is the body of POST /api/v1/moderation/rules.
type ModerationRuleRequest struct {
	Ref  string `json:"ref"`
	Rule string `json:"rule"` // allow | deny | clear
}

// AnnotationCount is one annotated value and how many distinct people gave it.
type AnnotationCount struct {
	Value  string `json:"value"`
	People int    `json:"people"`
}

// Annotations is what community annotations say about a package.
type Annotations struct {
	People int                          `json:"people"` // distinct annotators
	Tags   []AnnotationCount            `json:"tags,omitempty"`
	Titles map[string][]AnnotationCount `json:"titles,omitempty"` // by language
	Notes  []AnnotationCount            `json:"notes,omitempty"`
}

// RetractRequest is the body of POST /api/v1/retract.
type RetractRequest struct {
	Ref    string `json:"ref"`
	Reason string `json:"reason,omitempty"`
}

// RetractResult is the outcome of Retract.
type RetractResult struct {
	Package     string             `json:"package"`
	Reason      string             `json:"reason,omitempty"`
	Aggregators []AggregatorAnswer `json:"aggregators"`
	Holders     []AggregatorAnswer `json:"holders"`
	Accepted    int                `json:"accepted"`             // aggregators and holders that took it
	KeptLocal   bool               `json:"kept_local,omitempty"` // this node keeps its local pin
}
