// Command gotimeoracle answers how Go's time package parses and formats, for npd's tests.
//
// It reads one JSON object per line on stdin and writes one JSON object per line on stdout.
// Layouts, values and formatted texts travel hex-encoded so that every byte arrives unchanged.
//
//	{"op":"parse","layout":HEX,"value":HEX,"year":Y}
//	    -> {"ok":true,"sec":S,"nsec":N} or {"ok":false,"err":"..."}
//	    time.ParseInLocation(layout, value, time.Local). When year is not 0 and the parse
//	    succeeds, the instant reported is that of "2006|"+layout parsing "YYYY|"+value: the
//	    time as Go reads it when the text carries that year (npd's rule for year-less layouts).
//	    The "|" keeps the layout's own leading spaces matching exactly as they did alone.
//	{"op":"format","layout":HEX,"sec":S,"nsec":N,"zone":"local"|"utc"|"fixed","offset":O,"name":"X"}
//	    -> {"ok":true,"text":HEX}
//
// The local zone is Go's: set TZ in the environment.
package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"time"
)

type request struct {
	Op     string `json:"op"`
	Layout string `json:"layout"`
	Value  string `json:"value"`
	Year   int    `json:"year"`
	Sec    int64  `json:"sec"`
	Nsec   int64  `json:"nsec"`
	Zone   string `json:"zone"`
	Offset int    `json:"offset"`
	Name   string `json:"name"`
}

type response struct {
	OK   bool   `json:"ok"`
	Err  string `json:"err,omitempty"`
	Sec  int64  `json:"sec"`
	Nsec int    `json:"nsec"`
	Text string `json:"text,omitempty"`
}

func unhex(s string) string {
	b, err := hex.DecodeString(s)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bad hex:", err)
		os.Exit(2)
	}
	return string(b)
}

func answer(req request) response {
	layout := unhex(req.Layout)
	switch req.Op {
	case "parse":
		value := unhex(req.Value)
		t, err := time.ParseInLocation(layout, value, time.Local)
		if err != nil {
			return response{Err: err.Error()}
		}
		if req.Year != 0 {
			t, err = time.ParseInLocation("2006|"+layout, fmt.Sprintf("%04d|", req.Year)+value, time.Local)
			if err != nil {
				return response{Err: "reparse with the year failed: " + err.Error()}
			}
		}
		return response{OK: true, Sec: t.Unix(), Nsec: t.Nanosecond()}
	case "format":
		t := time.Unix(req.Sec, req.Nsec)
		switch req.Zone {
		case "local":
			t = t.In(time.Local)
		case "utc":
			t = t.UTC()
		default:
			t = t.In(time.FixedZone(req.Name, req.Offset))
		}
		return response{OK: true, Text: hex.EncodeToString([]byte(t.Format(layout)))}
	}
	fmt.Fprintln(os.Stderr, "unknown op:", req.Op)
	os.Exit(2)
	return response{}
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<24)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	for in.Scan() {
		var req request
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			fmt.Fprintln(os.Stderr, "bad request:", err)
			os.Exit(2)
		}
		if err := enc.Encode(answer(req)); err != nil {
			fmt.Fprintln(os.Stderr, "write:", err)
			os.Exit(2)
		}
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "read:", err)
		os.Exit(2)
	}
}
