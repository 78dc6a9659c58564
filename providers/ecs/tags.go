package ecs

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ramp-deploy/ramp/providers"
)

// The tags that hold ramp's state on the service. ECS allows 50 tags a
// resource and 256 characters a value, so a state (packed) is cut into
// chunks. Each write puts its state in chunks of its own, named by a
// random nonce, with a claim saying which record version it writes; the
// head names the nonce of the state that counts (see store.go):
//
//	ramp.dev/state          v2:<nonce>:<chunks>
//	ramp.dev/s.<nonce>.<i>  the i-th chunk of that write's state
//	ramp.dev/c.<nonce>      <version>:<unix seconds>: that write's claim
const (
	tagHead     = "ramp.dev/state"
	tagChunk    = "ramp.dev/s."
	tagClaim    = "ramp.dev/c."
	headVersion = "v2"
	maxTagValue = 256
	maxTags     = 50
	maxChunks   = 30
)

// claim is one write's claim: the record version it writes and when.
type claim struct {
	version int64
	at      time.Time
}

// tagSet is the service's tags as ramp reads them.
type tagSet struct {
	head   string // the nonce the head names; "" when none
	chunks int    // the head's chunk count
	claims map[string]claim
	sets   map[string]map[int]string // chunks by nonce and index
	others int                       // tags that are not ramp's
	raw    map[string]string
}

// parseTags sorts the service's tags out.
func parseTags(tags []types.Tag) tagSet {
	t := tagSet{claims: map[string]claim{}, sets: map[string]map[int]string{}, raw: map[string]string{}}
	for _, tag := range tags {
		k, v := aws.ToString(tag.Key), aws.ToString(tag.Value)
		t.raw[k] = v
		switch {
		case k == tagHead:
			parts := strings.Split(v, ":")
			if len(parts) == 3 && parts[0] == headVersion {
				t.head = parts[1]
				t.chunks, _ = strconv.Atoi(parts[2])
			}
		case strings.HasPrefix(k, tagClaim):
			ver, at, _ := strings.Cut(v, ":")
			n, err1 := strconv.ParseInt(ver, 10, 64)
			secs, err2 := strconv.ParseInt(at, 10, 64)
			if err1 == nil && err2 == nil {
				t.claims[strings.TrimPrefix(k, tagClaim)] = claim{version: n, at: time.Unix(secs, 0)}
			}
		case strings.HasPrefix(k, tagChunk):
			nonce, idx, ok := strings.Cut(strings.TrimPrefix(k, tagChunk), ".")
			i, err := strconv.Atoi(idx)
			if ok && err == nil {
				if t.sets[nonce] == nil {
					t.sets[nonce] = map[int]string{}
				}
				t.sets[nonce][i] = v
			}
		default:
			t.others++
		}
	}
	return t
}

// state is the state the head names; the zero state when there is no
// head (no rollout ever recorded).
func (t tagSet) state() (state, error) {
	head, ok := t.raw[tagHead]
	if !ok {
		return state{}, nil
	}
	if t.head == "" || t.chunks < 1 || t.chunks > maxChunks {
		return state{}, fmt.Errorf("%w: the service's tag %s (%q) holds no rollout state ramp reads: want %s:NONCE:CHUNKS", providers.ErrInvalid, tagHead, head, headVersion)
	}
	var enc strings.Builder
	for i := range t.chunks {
		chunk, ok := t.sets[t.head][i]
		if !ok {
			return state{}, fmt.Errorf("%w: the service's tag %s%s.%d, which %s names, is missing", providers.ErrInvalid, tagChunk, t.head, i, tagHead)
		}
		enc.WriteString(chunk)
	}
	s, err := unpack(enc.String())
	if err != nil {
		return state{}, fmt.Errorf("%w: the rollout state in the service's tags %s%s.* is unreadable: %w", providers.ErrInvalid, tagChunk, t.head, err)
	}
	return s, nil
}

// decodeState reads the state from the service's tags.
func decodeState(tags []types.Tag) (state, error) { return parseTags(tags).state() }

// chunkTags are the tags of a write of s under nonce: its chunks and its
// claim, and the head naming them.
func chunkTags(s state, nonce string, now time.Time) (body []types.Tag, head types.Tag, err error) {
	enc, err := pack(s)
	if err != nil {
		return nil, head, err
	}
	n := (len(enc) + maxTagValue - 1) / maxTagValue
	if n > maxChunks {
		return nil, head, fmt.Errorf("%w: the rollout state takes %d tag values of %d characters, over ramp's %d", providers.ErrInvalid, n, maxTagValue, maxChunks)
	}
	for i := range n {
		body = append(body, types.Tag{Key: aws.String(tagChunk + nonce + "." + strconv.Itoa(i)), Value: aws.String(enc[i*maxTagValue : min(len(enc), (i+1)*maxTagValue)])})
	}
	body = append(body, types.Tag{Key: aws.String(tagClaim + nonce), Value: aws.String(fmt.Sprintf("%d:%d", s.Record.Version, now.Unix()))})
	head = types.Tag{Key: aws.String(tagHead), Value: aws.String(fmt.Sprintf("%s:%s:%d", headVersion, nonce, n))}
	return body, head, nil
}

// stale lists ramp's tags no reader or writer needs at now: the chunks and
// claims of nonces other than the head's and keep, unless their claim is
// a live write (younger than claimTTL, past the head's version).
func (t tagSet) stale(keep string, headVersion int64, now time.Time) []string {
	var out []string
	live := func(nonce string) bool {
		c, ok := t.claims[nonce]
		return nonce == t.head || nonce == keep || (ok && c.version > headVersion && now.Sub(c.at) < claimTTL)
	}
	for _, nonce := range slices.Sorted(maps.Keys(t.sets)) {
		if !live(nonce) {
			for _, i := range slices.Sorted(maps.Keys(t.sets[nonce])) {
				out = append(out, tagChunk+nonce+"."+strconv.Itoa(i))
			}
		}
	}
	for _, nonce := range slices.Sorted(maps.Keys(t.claims)) {
		if !live(nonce) {
			out = append(out, tagClaim+nonce)
		}
	}
	return out
}

// rival is another write of version at least v that counts at now: the
// head's, when it is past v-1, or a live claim.
func (t tagSet) rival(me string, v, headVersion int64, now time.Time) (string, bool) {
	if t.head != "" && t.head != me && headVersion >= v {
		return fmt.Sprintf("version %d is recorded already", headVersion), true
	}
	for nonce, c := range t.claims {
		if nonce != me && nonce != t.head && c.version >= v && now.Sub(c.at) < claimTTL {
			return fmt.Sprintf("another process writes version %d too", c.version), true
		}
	}
	return "", false
}
