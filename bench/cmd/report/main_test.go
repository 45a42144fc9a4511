package main

import (
	"slices"
	"testing"
)

func TestOwnParts(t *testing.T) {
	for _, tc := range []struct {
		bench string
		noop  string
		floor string
		codec []string
		ok    bool
	}{
		{
			bench: "Request/backend=memory-binary/op=read/mode=seq",
			noop:  "Request/backend=noop/op=read/mode=seq",
			floor: "Floor/backend=memory/op=read/mode=seq",
			codec: []string{"Codec/codec=binary/op=decode/mode=seq"},
			ok:    true,
		},
		{
			bench: "Request/backend=redis/op=idle-read/mode=par",
			noop:  "Request/backend=noop/op=idle-read/mode=par",
			floor: "Floor/backend=redis/op=read/mode=par",
			codec: []string{"Codec/codec=json/op=decode/mode=par"},
			ok:    true,
		},
		{
			bench: "Request/backend=cookie-gojson/op=write/mode=seq",
			noop:  "Request/backend=noop/op=write/mode=seq",
			floor: "Floor/backend=cookie/op=write/mode=seq",
			codec: []string{"Codec/codec=gojson/op=decode/mode=seq", "Codec/codec=gojson/op=encode/mode=seq"},
			ok:    true,
		},
		{
			bench: "Request/backend=redis-wait1/op=new/mode=seq",
			noop:  "Request/backend=noop/op=new/mode=seq",
			floor: "Floor/backend=redis/op=new/mode=seq",
			codec: []string{"Codec/codec=json/op=encode/mode=seq"},
			ok:    true,
		},
		{
			bench: "Request/backend=postgres/op=untouched/mode=seq",
			noop:  "Request/backend=noop/op=untouched/mode=seq",
			ok:    true,
		},
		{bench: "Request/backend=noop/op=read/mode=seq"},
		{bench: "Request/backend=scs-memory/op=read/mode=seq"},
		{bench: "Floor/backend=memory/op=read/mode=seq"},
		{bench: "Size/backend=memory/size=440B/op=read/mode=seq"},
	} {
		t.Run(tc.bench, func(t *testing.T) {
			noop, floor, codec, ok := ownParts(parseName(tc.bench))
			if noop != tc.noop || floor != tc.floor || !slices.Equal(codec, tc.codec) || ok != tc.ok {
				t.Errorf("ownParts() = %q, %q, %q, %v; want %q, %q, %q, %v", noop, floor, codec, ok, tc.noop, tc.floor, tc.codec, tc.ok)
			}
		})
	}
}

func TestOwnCost(t *testing.T) {
	for _, tc := range []struct {
		name string
		ours []float64
		less [][]float64
		want []float64
	}{
		{"untouched", []float64{900, 1000}, [][]float64{{700, 750}}, []float64{200, 250}},
		{"read", []float64{2400, 2500, 2300}, [][]float64{{800, 900, 700}, {10, 10, 10}, {1200, 1300, 1100}}, []float64{390, 290, 490}},
		{"write, two codec parts", []float64{5000}, [][]float64{{1000}, {100}, {1200}, {600}}, []float64{2100}},
		{"a shorter series bounds the runs", []float64{900, 1000, 1100}, [][]float64{{700, 750}}, []float64{200, 250}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ownCost(tc.ours, tc.less...); !slices.Equal(got, tc.want) {
				t.Errorf("ownCost() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestOwnFromResults(t *testing.T) {
	res := results{
		"Request/backend=memory/op=read/mode=seq":      {"ns/op": {3000, 3100, 2900}, "allocs/op": {20, 20, 20}},
		"Request/backend=noop/op=read/mode=seq":        {"ns/op": {800, 850, 750}, "allocs/op": {12, 12, 12}},
		"Floor/backend=memory/op=read/mode=seq":        {"ns/op": {10, 10, 10}},
		"Codec/codec=json/op=decode/mode=seq":          {"ns/op": {1800, 1900, 1700}},
		"Request/backend=cookie/op=read/mode=seq":      {"ns/op": {3000}},
		"Request/backend=memory/op=untouched/mode=seq": {"ns/op": {900}, "allocs/op": {13}},
		"Request/backend=noop/op=untouched/mode=seq":   {"ns/op": {700}, "allocs/op": {12}},
	}
	if got, ok := res.own("Request/backend=memory/op=read/mode=seq"); !ok || !slices.Equal(got, []float64{390, 340, 440}) {
		t.Errorf("own(memory read) = %v, %v; want [390 340 440], true", got, ok)
	}
	if got, ok := res.own("Request/backend=cookie/op=read/mode=seq"); ok {
		t.Errorf("own(cookie read) = %v, true; want false: its floor was not measured", got)
	}
	if got, ok := res.allocsOverNoop("Request/backend=memory/op=untouched/mode=seq"); !ok || got != 1 {
		t.Errorf("allocsOverNoop(memory untouched) = %v, %v; want 1, true", got, ok)
	}
}
