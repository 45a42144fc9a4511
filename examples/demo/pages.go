package main

import (
	"fmt"
	"html/template"
	"time"

	"github.com/seed96b21533/typedsession"
)

// parsePages parses each page template with the layout and the shared parts.
func parsePages() (map[string]*template.Template, error) {
	base, err := template.New("").Funcs(template.FuncMap{
		"clock": clock,
		"rel":   rel,
		"ms":    func(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) },
		"short": shortID,
		"money": money,
	}).ParseFS(assets, "templates/layout.html", "templates/hood.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, name := range []string{"shop", "account", "problem"} {
		t, err := template.Must(base.Clone()).ParseFS(assets, "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		pages[name] = t
	}
	return pages, nil
}

// clock renders t as a time of day in UTC, with its zone.
func clock(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("15:04:05 MST")
}

// rel renders t relative to now: "12 s ago", "in 29 min".
func rel(t, now time.Time) string {
	d := t.Sub(now)
	past := d < 0
	if past {
		d = -d
	}
	var s string
	switch {
	case d < time.Second:
		return "just now"
	case d < time.Minute:
		s = fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		s = fmt.Sprintf("%d min", int(d.Minutes()))
	default:
		s = fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
	}
	if past {
		return s + " ago"
	}
	return "in " + s
}

// shortID is the start of a session ID, enough to tell sessions apart on a page.
func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// eventLine is one line of the account page's activity list.
type eventLine struct {
	At      time.Time
	What    string
	ID      string
	Current bool // the event's session is the request's
}

// describeEvent says what e did, in the words of the account page.
func describeEvent(e typedsession.Event, current string) eventLine {
	l := eventLine{At: e.Time, ID: shortID(e.ID), Current: e.ID != "" && e.ID == current}
	switch e.Kind {
	case typedsession.SessionCreated:
		l.What = "session created"
	case typedsession.SessionRenewed:
		l.What = "renewed at login: new token; the session " + shortID(e.PreviousID) + " it replaces is void"
	case typedsession.SessionOwned:
		l.What = "signed in: the session is now yours (SetOwner)"
	case typedsession.SessionDestroyed:
		l.What = "logged out (Destroy)"
	case typedsession.SessionRevoked:
		switch e.Reason {
		case "DestroyOthers":
			l.What = "signed out by \"Log out everywhere else\" (DestroyOthers)"
		case "DestroyID":
			l.What = "signed out from the session list (DestroyID)"
		default:
			l.What = "revoked (" + e.Reason + ")"
		}
	case typedsession.SessionExpired:
		l.What = "expired"
	case typedsession.SessionEvicted:
		l.What = "evicted: the store was full"
	case typedsession.SessionCleaned:
		l.What = "removed by the store's cleanup after it expired"
	case typedsession.ConflictRetried:
		l.What = "a write lost a race with another request's and was retried"
	default:
		l.What = e.Kind.String()
	}
	return l
}
