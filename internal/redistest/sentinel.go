package redistest

import (
	"errors"
	"fmt"
	"strconv"
	"testing"
)

// Sentinels is a group of Sentinel processes watching one master under the name Name.
type Sentinels struct {
	Name    string
	Servers []*Server
}

// Failover timing of the Sentinels StartSentinels starts: a master that does not answer
// for DownAfter is down, and a failover gives up after FailoverTimeout. Short, so that
// a test's failover completes in a few seconds.
const (
	DownAfter       = 1000 // ms
	FailoverTimeout = 5000 // ms
)

// StartSentinels starts n Sentinels (a quorum of n/2+1) watching master under the name
// "mymaster", and returns once each of them knows the other Sentinels and the given
// number of replicas of master.
func StartSentinels(tb testing.TB, master *Server, replicas, n int) *Sentinels {
	tb.Helper()
	s := &Sentinels{Name: "mymaster"}
	conf := []string{
		fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d %d", s.Name, master.Port, n/2+1),
		fmt.Sprintf("sentinel down-after-milliseconds %s %d", s.Name, DownAfter),
		fmt.Sprintf("sentinel failover-timeout %s %d", s.Name, FailoverTimeout),
		fmt.Sprintf("sentinel parallel-syncs %s 1", s.Name),
	}
	for range n {
		s.Servers = append(s.Servers, start(tb, "", conf, "--sentinel"))
	}
	// Sentinels find each other and the replicas through the master (hello messages
	// every 2 s, INFO every 10 s): a failover before that would lack a quorum or a
	// replica to promote.
	for _, sen := range s.Servers {
		waitFor(tb, "the Sentinel "+sen.Addr+" to know the others and the replicas", func() error {
			v, err := Do(sen.Addr, cmdTimeout, "SENTINEL", "MASTER", s.Name)
			if err != nil {
				return err
			}
			m := fields(v)
			if m["num-other-sentinels"] != strconv.Itoa(n-1) || m["num-slaves"] != strconv.Itoa(replicas) {
				return fmt.Errorf("it knows %s other Sentinels and %s replicas", m["num-other-sentinels"], m["num-slaves"])
			}
			return nil
		}, append([]*Server{master}, s.Servers...)...)
	}
	return s
}

// Addrs returns the Sentinels' addresses.
func (s *Sentinels) Addrs() []string {
	out := make([]string, len(s.Servers))
	for i, sen := range s.Servers {
		out[i] = sen.Addr
	}
	return out
}

// Master returns the address of the master as the Sentinels report it, when all that
// answer agree.
func (s *Sentinels) Master() (string, error) {
	addr := ""
	for _, sen := range s.Servers {
		v, err := Do(sen.Addr, cmdTimeout, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", s.Name)
		if err != nil {
			continue
		}
		a, _ := v.([]any)
		if len(a) != 2 {
			return "", fmt.Errorf("SENTINEL GET-MASTER-ADDR-BY-NAME = %v", v)
		}
		host, _ := a[0].(string)
		port, _ := a[1].(string)
		got := host + ":" + port
		if addr != "" && got != addr {
			return "", fmt.Errorf("the Sentinels disagree: %s and %s", addr, got)
		}
		addr = got
	}
	if addr == "" {
		return "", errors.New("no Sentinel answered")
	}
	return addr, nil
}

// WaitSwitch waits until the Sentinels agree on a master other than old, and it answers
// as a master; it returns its address.
func (s *Sentinels) WaitSwitch(tb testing.TB, old string) string {
	tb.Helper()
	var addr string
	waitFor(tb, "the Sentinels to promote a replica of "+old, func() error {
		a, err := s.Master()
		if err != nil {
			return err
		}
		if a == old {
			return fmt.Errorf("the master is still %s", a)
		}
		role, err := Role(a)
		if err != nil {
			return err
		}
		if role != "master" {
			return fmt.Errorf("%s is a %s", a, role)
		}
		addr = a
		return nil
	}, s.Servers...)
	return addr
}
