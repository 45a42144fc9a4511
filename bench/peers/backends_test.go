package peers

import (
	"crypto/rand"
	"encoding/gob"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/redisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/gorilla/sessions"

	"github.com/seed96b21533/typedsession/bench/workload"
)

func init() {
	// Both peers keep values of interface type, encoded with gob.
	gob.Register(workload.Profile{})
}

var errNoProfile = errors.New("peers: no Profile in the session")

// counting counts the calls scs makes to its store, for store-calls/op.
type counting struct {
	scs.Store
	n atomic.Int64
}

func (c *counting) Find(token string) ([]byte, bool, error) {
	c.n.Add(1)
	return c.Store.Find(token)
}

func (c *counting) Commit(token string, b []byte, expiry time.Time) error {
	c.n.Add(1)
	return c.Store.Commit(token, b, expiry)
}

func (c *counting) Delete(token string) error {
	c.n.Add(1)
	return c.Store.Delete(token)
}

// scsLayer is scs with its defaults over store (IdleTimeout on idle-read), the Profile
// kept under one key. Cookie.Secure is off, as Insecure is on for ours: plain-http tests.
func scsLayer(store scs.Store, cfg workload.Config) workload.Layer {
	cs := &counting{Store: store}
	sm := scs.New()
	sm.Store = cs
	sm.IdleTimeout = cfg.IdleTimeout
	sm.Cookie.Secure = false
	get := func(r *http.Request) (workload.Profile, error) {
		p, ok := sm.Get(r.Context(), "profile").(workload.Profile)
		if !ok {
			return p, errNoProfile
		}
		return p, nil
	}
	return workload.Layer{
		Middleware: sm.LoadAndSave,
		Read:       get,
		IncrCounter: func(_ http.ResponseWriter, r *http.Request) (int, error) {
			p, err := get(r)
			if err != nil {
				return 0, err
			}
			p.Counter++
			sm.Put(r.Context(), "profile", p)
			return p.Counter, nil
		},
		New: func(_ http.ResponseWriter, r *http.Request, p workload.Profile) error {
			sm.Put(r.Context(), "profile", p)
			return nil
		},
		ServerSide: true,
		StoreCalls: cs.n.Load,
	}
}

var (
	scsMemory = workload.Backend{Name: "scs-memory", Open: func(tb testing.TB, cfg workload.Config) workload.Layer {
		return scsLayer(memstore.NewWithCleanupInterval(0), cfg)
	}}
	scsRedis = workload.Backend{Name: "scs-redis", Open: func(tb testing.TB, cfg workload.Config) workload.Layer {
		pool, prefix := redisPool(tb)
		return scsLayer(redisstore.NewWithPrefix(pool, prefix), cfg)
	}}
	scsPostgres = workload.Backend{Name: "scs-postgres", Open: func(tb testing.TB, cfg workload.Config) workload.Layer {
		return scsLayer(pgxstore.NewWithCleanupInterval(pgPool(tb), 0), cfg)
	}}

	// gorillaCookie is gorilla/sessions' CookieStore with a hash key and a block key
	// (signed and encrypted), its defaults otherwise. gorilla has no idle timeout:
	// idle-read is read. It has no middleware either; the one here copies the request,
	// because gorilla's registry rewrites *r, and the driver reuses one request per
	// goroutine (without the copy every request after the first would be served from
	// the first one's cache).
	gorillaCookie = workload.Backend{Name: "gorilla-cookie", Open: func(tb testing.TB, cfg workload.Config) workload.Layer {
		hashKey, blockKey := make([]byte, 64), make([]byte, 32)
		rand.Read(hashKey)
		rand.Read(blockKey)
		store := sessions.NewCookieStore(hashKey, blockKey)
		const name = "session"
		get := func(r *http.Request) (*sessions.Session, workload.Profile, error) {
			s, err := store.Get(r, name)
			if err != nil {
				return s, workload.Profile{}, err
			}
			p, ok := s.Values["profile"].(workload.Profile)
			if !ok {
				return s, p, errNoProfile
			}
			return s, p, nil
		}
		return workload.Layer{
			Middleware: func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					c := *r
					next.ServeHTTP(w, &c)
				})
			},
			Read: func(r *http.Request) (workload.Profile, error) {
				_, p, err := get(r)
				return p, err
			},
			IncrCounter: func(w http.ResponseWriter, r *http.Request) (int, error) {
				s, p, err := get(r)
				if err != nil {
					return 0, err
				}
				p.Counter++
				s.Values["profile"] = p
				return p.Counter, s.Save(r, w)
			},
			New: func(w http.ResponseWriter, r *http.Request, p workload.Profile) error {
				s, err := store.Get(r, name)
				if err != nil {
					return err
				}
				s.Values["profile"] = p
				return s.Save(r, w)
			},
		}
	}}
)
