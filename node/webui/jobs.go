package webui

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/myconet/myconet/node/apitype"
)

// job is a long action (download, vote with its proof of work, annotate)
// that runs in the background while the page polls GET /ui/job/{id}.
type job struct {
	ID      string
	Kind    string // download | vote | annotate
	Package string
	Started time.Time

	mu       sync.Mutex
	progress apitype.Progress
	done     bool
	ended    time.Time
	result   any
	err      error
}

const (
	maxJobs  = 32
	jobKeep  = 10 * time.Minute // a finished job's result stays this long
	jobLimit = 30 * time.Minute // the longest a job may run
)

// jobView is what the job template shows.
type jobView struct {
	ID, Kind, Package string
	Progress          apitype.Progress
	Elapsed           string
	Done              bool
	Result            any
	Error             string
}

func (j *job) view(now time.Time) jobView {
	j.mu.Lock()
	defer j.mu.Unlock()
	v := jobView{ID: j.ID, Kind: j.Kind, Package: j.Package, Progress: j.progress, Done: j.done, Result: j.result}
	end := now
	if j.done {
		end = j.ended
	}
	v.Elapsed = end.Sub(j.Started).Round(100 * time.Millisecond).String()
	if j.err != nil {
		v.Error = errorMsg(j.err)
	}
	return v
}

// startJob runs fn in the background; its progress and outcome are read
// through the job.
func (u *UI) startJob(kind, pkg string, fn func(ctx context.Context, progress func(apitype.Progress)) (any, error)) (*job, error) {
	now := u.opt.Now()
	j := &job{ID: randomToken()[:32], Kind: kind, Package: pkg, Started: now}
	u.mu.Lock()
	if u.closed {
		u.mu.Unlock()
		return nil, errClosed
	}
	running := 0
	for id, o := range u.jobs {
		o.mu.Lock()
		if o.done && now.Sub(o.ended) > jobKeep {
			delete(u.jobs, id)
		} else if !o.done {
			running++
		}
		o.mu.Unlock()
	}
	if running >= maxJobs {
		u.mu.Unlock()
		return nil, errBusy
	}
	u.jobs[j.ID] = j
	u.wg.Add(1)
	u.mu.Unlock()
	go func() {
		defer u.wg.Done()
		ctx, cancel := context.WithTimeout(u.ctx, jobLimit)
		defer cancel()
		res, err := fn(ctx, func(p apitype.Progress) {
			j.mu.Lock()
			j.progress = p
			j.mu.Unlock()
		})
		j.mu.Lock()
		j.done, j.ended, j.result, j.err = true, u.opt.Now(), res, err
		j.mu.Unlock()
	}()
	return j, nil
}

type uiError string

func (e uiError) Error() string { return string(e) }

const (
	errClosed uiError = "the node is shutting down"
	errBusy   uiError = "too many actions running; wait for one to finish"
)

// jobStatus answers a job's fragment: a progress bar while it runs (the
// fragment polls itself), its outcome when done.
func (u *UI) jobStatus(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	j := u.jobs[r.PathValue("id")]
	u.mu.Unlock()
	if j == nil {
		u.fail(w, r, http.StatusNotFound, uiError("no such action (it finished more than ten minutes ago, or the node restarted)"))
		return
	}
	u.fragment(w, r, "job", j.view(u.opt.Now()))
}

// respondJob answers a request that started a job with the job's fragment.
func (u *UI) respondJob(w http.ResponseWriter, r *http.Request, j *job, err error) {
	if err != nil {
		u.fail(w, r, http.StatusServiceUnavailable, err)
		return
	}
	u.fragment(w, r, "job", j.view(u.opt.Now()))
}
