package ecs

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ramp-deploy/ramp/providers"
)

// record is a rollout record whose reason holds n random characters, which
// compress little.
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
// each tag within ECS's limits, and refuses one too large.
func TestStateInTags(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		reason int
		chunks int
	}{
		{"small", 10, 2},
		{"several chunks", 2000, 9},
		{"near the most ramp takes", 8500, 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := state{Record: record(tc.reason), Images: map[string]string{"v2": nextImage}, Previous: "v0",
				PreviousUntil: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), Retired: []string{"v-1"}}
			body, head, err := chunkTags(s, "abc", now)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(body) - 1; got != tc.chunks {
				t.Errorf("%d chunks, want %d", got, tc.chunks)
			}
			for _, tag := range append(body, head) {
				if v := aws.ToString(tag.Value); len(v) > maxTagValue || len(aws.ToString(tag.Key)) > 128 {
					t.Errorf("tag %s is %d characters", aws.ToString(tag.Key), len(v))
				}
			}
			got, err := decodeState(append(body, head))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(s, got); diff != "" {
				t.Errorf("state read back (-want +got):\n%s", diff)
			}
		})
	}
	if _, _, err := chunkTags(state{Record: record(12000)}, "abc", now); !errors.Is(err, providers.ErrInvalid) {
		t.Errorf("a state of 12000 random characters: %v", err)
	}
}

// TestUnreadableState checks that tags holding no state ramp reads are an
// ErrInvalid naming the tag, and that no head is no rollout.
func TestUnreadableState(t *testing.T) {
	t.Parallel()
	tag := func(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }
	for _, tc := range []struct {
		name string
		tags []types.Tag
	}{
		{"unknown format", []types.Tag{tag(tagHead, "v9:abc:1"), tag(tagChunk+"abc.0", "AAAA")}},
		{"chunk missing", []types.Tag{tag(tagHead, "v2:abc:2"), tag(tagChunk+"abc.0", "AAAA")}},
		{"not base64", []types.Tag{tag(tagHead, "v2:abc:1"), tag(tagChunk+"abc.0", "!!!")}},
		{"not deflate", []types.Tag{tag(tagHead, "v2:abc:1"), tag(tagChunk+"abc.0", "AAAA")}},
	} {
		if _, err := decodeState(tc.tags); !errors.Is(err, providers.ErrInvalid) || !strings.Contains(err.Error(), "ramp.dev/") {
			t.Errorf("%s: %v, want ErrInvalid naming the tag", tc.name, err)
		}
	}
	if s, err := decodeState([]types.Tag{tag("team", "web")}); err != nil || s.Record.Phase != providers.PhaseNone {
		t.Errorf("no state tags: %+v, %v", s, err)
	}
}
