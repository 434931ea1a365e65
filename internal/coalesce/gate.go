package coalesce

import "sync"

// Gate admits at most n calls at once, for every Source that shares it
// (the server gives each shop its own); the others wait in a queue, as
// data. It is sized
// like UPSTREAM_MAX_IN_FLIGHT, the transport's cap on upstream calls in
// flight: past the cap a call could only wait for a slot, and a call that
// waits in the transport does so on a goroutine and its stack, one for
// every order a loaded server is asked for (bench/README.md, "Memory and
// the in-flight cap"). Calls admitted here still take the transport's slot
// for each attempt, which token, list and write calls share.
type Gate struct {
	mu         sync.Mutex
	free       int
	head, tail *ticket
}

// ticket is a call admitted or waiting to be.
type ticket struct {
	run        func()
	prev, next *ticket
	queued     bool // guarded by Gate.mu
}

// NewGate returns a gate that admits n calls at once (at least one).
func NewGate(n int) *Gate { return &Gate{free: max(n, 1)} }

// start runs run on a goroutine once the gate admits it. A nil gate admits
// every call at once.
func (g *Gate) start(run func()) *ticket {
	t := &ticket{run: run}
	if g == nil {
		go run()
		return t
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.free > 0 {
		g.free--
		go g.serve(t)
		return t
	}
	t.queued, t.prev = true, g.tail
	if g.tail != nil {
		g.tail.next = t
	} else {
		g.head = t
	}
	g.tail = t
	return t
}

// serve runs t, then the calls that queued meanwhile, on this goroutine:
// the slot passes from one to the next without a goroutine of its own.
func (g *Gate) serve(t *ticket) {
	for t != nil {
		t.run()
		g.mu.Lock()
		t = g.head
		if t != nil {
			g.unlink(t)
		} else {
			g.free++
		}
		g.mu.Unlock()
	}
}

// cancel takes t out of the queue if it is still there; a call that has
// started is not the gate's to stop.
func (g *Gate) cancel(t *ticket) {
	if g == nil {
		return
	}
	g.mu.Lock()
	if t.queued {
		g.unlink(t)
	}
	g.mu.Unlock()
}

// unlink removes t from the queue. g.mu must be held.
func (g *Gate) unlink(t *ticket) {
	if t.prev != nil {
		t.prev.next = t.next
	} else {
		g.head = t.next
	}
	if t.next != nil {
		t.next.prev = t.prev
	} else {
		g.tail = t.prev
	}
	t.prev, t.next, t.queued = nil, nil, false
}
