// Package fly rolls Fly.io apps out progressively over the Machines REST
// API (https://api.machines.dev/v1), with a client of its own: a canary
// by machine ratio. The fly-proxy has no traffic weights, so the
// candidate's share is the share of routable machines that run it: a
// deploy starts one candidate machine beside each stable one (the same
// config, the new image, so the same process group and region), created
// without service registration and registered only when its checks pass;
// each step uncordons candidate machines and cordons stable ones so that
// routable candidates / all routable machines is the asked weight. A step
// list the machine count cannot express is refused, naming the steps it
// can. A promotion routes the candidate only and destroys the stable
// machines (once the rollback window ends); a rollback makes every stable
// machine routable again and destroys the candidate's.
//
// The rollout record lives in the metadata of one machine of the stable
// revision (the anchor), written while ramp holds that machine's lease,
// so writers exclude each other and the record's Version is compared and
// set under the lock; transitions follow ApplyStepwise's intent, act,
// outcome. Roles live in each machine's metadata (ramp_role, ramp_revision).
//
// FLY_API_TOKEN authenticates (a "FlyV1 ..." token is sent as it is, any
// other as a Bearer token); FLY_API_BASE_URL sends the client elsewhere (a
// fake).
package fly
