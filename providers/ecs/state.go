package ecs

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"time"

	"github.com/ramp-deploy/ramp/providers"
)

// state is what ramp keeps on the service.
type state struct {
	// Record is the rollout record.
	Record providers.Rollout `json:"record"`
	// Images maps the revisions taking part to their images, since a task
	// set shows only its task definition.
	Images map[string]string `json:"images,omitempty"`
	// Previous is the revision the last promotion replaced, kept at 0%
	// until PreviousUntil for a fast revert.
	Previous      string    `json:"previous,omitempty"`
	PreviousUntil time.Time `json:"previous_until,omitzero"`
	// Retired lists the revisions whose task sets are to be deleted: a
	// transition states them with its intent, so a process stopped
	// between the primary swap and the delete leaves no stray candidate.
	Retired []string `json:"retired,omitempty"`
	// AB is the A/B routing ramp applies (strategy ab): stated with the
	// intent of the shift that makes it, so a process stopped before the
	// rule is made (or deleted) leaves its priority for readers to find.
	AB *abRule `json:"ab,omitempty"`
}

// pack is s as JSON, deflated, in base64 (only characters tag values
// take).
func pack(s state) (string, error) {
	raw, err := json.Marshal(s)
	if err != nil {
		return "", fmt.Errorf("encode the rollout state: %w", err)
	}
	var buf bytes.Buffer
	zw, _ := flate.NewWriter(&buf, flate.BestCompression) // a valid level never fails
	if _, err := zw.Write(raw); err != nil {
		return "", fmt.Errorf("compress the rollout state: %w", err)
	}
	if err := zw.Close(); err != nil {
		return "", fmt.Errorf("compress the rollout state: %w", err)
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// unpack reverses pack.
func unpack(enc string) (state, error) {
	z, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return state{}, err
	}
	raw, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(z)), 1<<20))
	if err != nil {
		return state{}, err
	}
	var s state
	if err := json.Unmarshal(raw, &s); err != nil {
		return state{}, err
	}
	return s, nil
}

// withImages keeps the images of the revisions named in keep, adding
// known ones.
func (s state) withImages(known map[string]string, keep ...string) state {
	all := maps.Clone(s.Images)
	if all == nil {
		all = map[string]string{}
	}
	maps.Copy(all, known)
	s.Images = map[string]string{}
	for _, rev := range keep {
		if img := all[rev]; rev != "" && img != "" {
			s.Images[rev] = img
		}
	}
	return s
}
