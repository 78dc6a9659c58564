package ecs

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ramp-deploy/ramp/providers"
)

// The tags that hold ramp's state on the service. ECS allows 50 tags a
// resource and 256 characters a value, so the state (JSON, deflated,
// base64: only characters tag values take) is cut into chunks: tagState
// says "v1:N", and tagChunk+"0" .. tagChunk+"N-1" hold the pieces. A
// shorter state blanks the chunks it no longer needs in the same write.
const (
	tagState     = "ramp.dev/state"
	tagChunk     = "ramp.dev/state."
	maxTagValue  = 256
	maxTags      = 50
	maxChunks    = 40
	stateVersion = "v1"
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
}

// encodeState turns s into the tags to write: the header, the chunks, and
// "" for each chunk the tags held before (old) beyond the new ones.
func encodeState(s state, old []types.Tag) ([]types.Tag, error) {
	raw, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encode the rollout state: %w", err)
	}
	var buf bytes.Buffer
	zw, _ := flate.NewWriter(&buf, flate.BestCompression) // a valid level never fails
	if _, err := zw.Write(raw); err != nil {
		return nil, fmt.Errorf("compress the rollout state: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compress the rollout state: %w", err)
	}
	enc := base64.StdEncoding.EncodeToString(buf.Bytes())
	n := (len(enc) + maxTagValue - 1) / maxTagValue
	if n > maxChunks {
		return nil, fmt.Errorf("%w: the rollout state takes %d tag values of %d characters, over ramp's %d", providers.ErrInvalid, n, maxTagValue, maxChunks)
	}
	tags := []types.Tag{{Key: aws.String(tagState), Value: aws.String(stateVersion + ":" + strconv.Itoa(n))}}
	for i := range n {
		tags = append(tags, types.Tag{Key: aws.String(tagChunk + strconv.Itoa(i)), Value: aws.String(enc[i*maxTagValue : min(len(enc), (i+1)*maxTagValue)])})
	}
	others := 0
	for _, t := range old {
		k := aws.ToString(t.Key)
		i, err := strconv.Atoi(strings.TrimPrefix(k, tagChunk))
		switch {
		case k == tagState:
		case strings.HasPrefix(k, tagChunk) && err == nil:
			if i >= n {
				tags = append(tags, types.Tag{Key: t.Key, Value: aws.String("")})
			}
		default:
			others++
		}
	}
	if len(tags)+others > maxTags {
		return nil, fmt.Errorf("%w: the rollout state needs %d tags on the service beside its %d others, over ECS's %d a resource; remove some tags", providers.ErrInvalid, len(tags), others, maxTags)
	}
	return tags, nil
}

// decodeState reads the state from the service's tags; a service without
// one has the zero state (no rollout ever recorded).
func decodeState(tags []types.Tag) (state, error) {
	byKey := make(map[string]string, len(tags))
	for _, t := range tags {
		byKey[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	head, ok := byKey[tagState]
	if !ok {
		return state{}, nil
	}
	bad := func(why string, args ...any) (state, error) {
		return state{}, fmt.Errorf("%w: the service's tag %s (%q) holds no rollout state ramp reads: %s", providers.ErrInvalid, tagState, head, fmt.Sprintf(why, args...))
	}
	ver, count, _ := strings.Cut(head, ":")
	n, err := strconv.Atoi(count)
	if ver != stateVersion || err != nil || n < 1 || n > maxChunks {
		return bad("want %s:N", stateVersion)
	}
	var enc strings.Builder
	for i := range n {
		chunk, ok := byKey[tagChunk+strconv.Itoa(i)]
		if !ok {
			return bad("tag %s%d is missing", tagChunk, i)
		}
		enc.WriteString(chunk)
	}
	z, err := base64.StdEncoding.DecodeString(enc.String())
	if err != nil {
		return bad("%v", err)
	}
	raw, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(z)), 1<<20))
	if err != nil {
		return bad("%v", err)
	}
	var s state
	if err := json.Unmarshal(raw, &s); err != nil {
		return bad("%v", err)
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
