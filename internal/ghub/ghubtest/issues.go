package ghubtest

// This file holds the issue comment, reaction, permission and pull request
// endpoints.

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/google/go-github/v75/github"
)

func (f *Fake) createComment(w http.ResponseWriter, r *http.Request) {
	var c github.IssueComment
	if !decode(w, r, &c) {
		return
	}
	n, _ := strconv.Atoi(r.PathValue("n"))
	switch {
	case c.Body == nil:
		invalid(w, "IssueComment", "body", "missing_field", "body is missing")
		return
	case strings.TrimSpace(c.GetBody()) == "":
		invalid(w, "IssueComment", "body", "custom", "body can't be blank")
		return
	case tooLong(c.GetBody(), MaxCommentBody):
		invalid(w, "IssueComment", "body", "custom", "Body is too long (maximum is 65536 characters)")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.issues[n] {
		notFound(w)
		return
	}
	f.seq++
	com := Comment{ID: f.seq, Issue: n, User: "github-actions[bot]", Body: c.GetBody()}
	f.comments = append(f.comments, com)
	writeJSON(w, http.StatusCreated, &github.IssueComment{ID: github.Ptr(com.ID), Body: github.Ptr(com.Body),
		User: &github.User{Login: github.Ptr(com.User), Type: github.Ptr("Bot")}})
}

var reactionContents = []string{"+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"}

func (f *Fake) createReaction(w http.ResponseWriter, r *http.Request) {
	var re github.Reaction
	if !decode(w, r, &re) {
		return
	}
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if !slices.Contains(reactionContents, re.GetContent()) {
		invalid(w, "Reaction", "content", "invalid", fmt.Sprintf("content is not included in the list: %q", re.GetContent()))
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	_, known := f.seeded[id]
	known = known || slices.ContainsFunc(f.comments, func(c Comment) bool { return c.ID == id })
	if !known {
		notFound(w)
		return
	}
	code := http.StatusCreated
	if slices.Contains(f.reactions, Reaction{id, re.GetContent()}) {
		code = http.StatusOK // already there
	} else {
		f.reactions = append(f.reactions, Reaction{id, re.GetContent()})
	}
	writeJSON(w, code, &github.Reaction{ID: github.Ptr(id), Content: re.Content})
}

// rolePermissions maps a role to the legacy permission and the booleans
// GitHub returns for it.
var rolePermissions = map[string]struct {
	legacy string
	perms  map[string]bool
}{
	RoleAdmin:    {"admin", map[string]bool{"admin": true, "maintain": true, "push": true, "triage": true, "pull": true}},
	RoleMaintain: {"write", map[string]bool{"maintain": true, "push": true, "triage": true, "pull": true}},
	RoleWrite:    {"write", map[string]bool{"push": true, "triage": true, "pull": true}},
	RoleTriage:   {"read", map[string]bool{"triage": true, "pull": true}},
	RoleRead:     {"read", map[string]bool{"pull": true}},
	RoleNone:     {"none", map[string]bool{}},
}

func (f *Fake) permission(w http.ResponseWriter, r *http.Request) {
	user := r.PathValue("user")
	f.mu.Lock()
	role, ok := f.perms[user]
	f.mu.Unlock()
	if !ok {
		role = RoleNone
	}
	p := rolePermissions[role]
	perms := map[string]bool{"admin": false, "maintain": false, "push": false, "triage": false, "pull": false}
	for k, v := range p.perms {
		perms[k] = v
	}
	writeJSON(w, http.StatusOK, &github.RepositoryPermissionLevel{Permission: github.Ptr(p.legacy), RoleName: github.Ptr(role),
		User: &github.User{Login: github.Ptr(user), Permissions: perms}})
}

func (f *Fake) getPull(w http.ResponseWriter, r *http.Request) {
	n, _ := strconv.Atoi(r.PathValue("n"))
	f.mu.Lock()
	p, ok := f.pulls[n]
	f.mu.Unlock()
	if !ok {
		notFound(w)
		return
	}
	head := &github.PullRequestBranch{SHA: github.Ptr(p.Head)}
	if p.HeadRepo != "" {
		head.Repo = &github.Repository{FullName: github.Ptr(p.HeadRepo)}
	}
	state := "open"
	if p.Merged {
		state = "closed"
	}
	pr := &github.PullRequest{Number: github.Ptr(n), State: github.Ptr(state), Head: head, Merged: github.Ptr(p.Merged),
		Base: &github.PullRequestBranch{SHA: github.Ptr("0000000000000000000000000000000000000000"),
			Repo: &github.Repository{FullName: github.Ptr(p.BaseRepo)}}}
	if p.MergeCommit != "" {
		pr.MergeCommitSHA = github.Ptr(p.MergeCommit)
	}
	writeJSON(w, http.StatusOK, pr)
}
