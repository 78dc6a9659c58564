package ecs

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/providers"
)

// record is a rollout record whose reason holds n random characters, which
// do not compress.
func record(n int) providers.Rollout {
	var b strings.Builder
	for b.Len() < n {
		b.WriteString(rand.Text())
	}
	return providers.Rollout{ID: "r1", Phase: providers.PhaseProgressing, Candidate: "v2", Stable: "v1", Weight: 10, Version: 7,
		Reason: b.String()[:n], Spec: json.RawMessage(`{"strategy":"canary"}`),
		StartedAt: time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)}
}

// TestStateInTags round-trips states of several sizes through the tags,
// checking every tag against ECS's limits, and that a shorter state blanks
// the chunks the longer one used.
func TestStateInTags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		reason int
		chunks int
	}{
		{"small", 10, 2},
		{"several chunks", 2000, 9},
		{"near the most ramp takes", 11000, 38},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := state{Record: record(tc.reason), Images: map[string]string{"v2": nextImage}, Previous: "v0",
				PreviousUntil: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)}
			big, err := encodeState(state{Record: record(14000)}, nil)
			if err == nil {
				t.Fatal("a state of 14000 random characters fit")
			}
			big, err = encodeState(state{Record: record(11000)}, nil)
			if err != nil {
				t.Fatal(err)
			}
			tags, err := encodeState(s, big)
			if err != nil {
				t.Fatal(err)
			}
			if got := countChunks(tags); got != tc.chunks {
				t.Errorf("%d chunks, want %d", got, tc.chunks)
			}
			for _, tag := range tags {
				if v := aws.ToString(tag.Value); len(v) > maxTagValue || len(aws.ToString(tag.Key)) > 128 {
					t.Errorf("tag %s is %d characters", aws.ToString(tag.Key), len(v))
				}
			}
			got, err := decodeState(mergeTags(big, tags))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(s, got); diff != "" {
				t.Errorf("state read back (-want +got):\n%s", diff)
			}
		})
	}
}

func countChunks(tags []types.Tag) int {
	n := 0
	for _, t := range tags {
		if strings.HasPrefix(aws.ToString(t.Key), tagChunk) && aws.ToString(t.Value) != "" {
			n++
		}
	}
	return n
}

// TestStateLimits checks the refusals: the user's tags leave no room, and
// tags that hold no state ramp reads.
func TestStateLimits(t *testing.T) {
	t.Parallel()
	var user []types.Tag
	for i := range 48 {
		user = append(user, types.Tag{Key: aws.String(fmt.Sprintf("team%d", i)), Value: aws.String("x")})
	}
	if _, err := encodeState(state{Record: record(1000)}, user); !errors.Is(err, providers.ErrInvalid) || !strings.Contains(err.Error(), "48 others") {
		t.Errorf("48 user tags: %v", err)
	}
	for _, tc := range []struct{ name, head, chunk string }{
		{"unknown version", "v9:1", "AAAA"},
		{"chunk missing", "v1:2", "AAAA"},
		{"not base64", "v1:1", "!!!"},
		{"not deflate", "v1:1", "AAAA"},
	} {
		tags := []types.Tag{{Key: aws.String(tagState), Value: aws.String(tc.head)}, {Key: aws.String(tagChunk + "0"), Value: aws.String(tc.chunk)}}
		if _, err := decodeState(tags); !errors.Is(err, providers.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", tc.name, err)
		}
	}
	if s, err := decodeState(user); err != nil || s.Record.Phase != providers.PhaseNone {
		t.Errorf("no state tags: %+v, %v", s, err)
	}
}
