"""A small Go program that answers the questions npd must answer the way Go does.

Built once per test session from the source below (standard library only, no modules fetched),
with the Go toolchain at ``/usr/local/go/bin/go`` or on ``PATH``; tests that use it skip when Go
is missing. Modes:

* ``duration``: reads JSON-encoded strings, one per line, and prints ``OK <nanoseconds>`` or
  ``ERR <message>`` for each (``time.ParseDuration``);
* ``regexp``: the same input, ``OK`` or ``ERR <message>`` (``regexp.Compile``);
* ``config <log|custom|stats> FILE...``: ``OK`` or ``ERR <message>`` per file: what upstream's
  loader does with the file before it starts anything. The structs copy upstream's
  (``pkg/systemlogmonitor/config.go``, ``logwatchers/types``, ``pkg/types.Condition``,
  ``pkg/custompluginmonitor/types/config.go``, ``pkg/systemstatsmonitor/types/config.go``) so that
  ``encoding/json`` applies its real rules; the checks after decoding are upstream's
  (``ValidateRules``, the plugin switch, the filelog translator's ``MustCompile``, the custom
  plugin's ``ApplyConfiguration`` and ``Validate``, the stats ``ApplyConfiguration`` and
  ``Validate``), except that a plugin's executable need not exist (npd checks configs away from
  the node, so it only warns).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

GO_SOURCE = r"""
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"time"
)

type Condition struct {
	Type       string    `json:"type"`
	Status     string    `json:"status"`
	Transition time.Time `json:"transition"`
	Reason     string    `json:"reason"`
	Message    string    `json:"message"`
}

type WatcherConfig struct {
	Plugin       string            `json:"plugin,omitempty"`
	PluginConfig map[string]string `json:"pluginConfig,omitempty"`
	SkipList     []string          `json:"skipList,omitempty"`
	LogPath      string            `json:"logPath,omitempty"`
	Lookback     string            `json:"lookback,omitempty"`
	Delay        string            `json:"delay,omitempty"`
}

type Rule struct {
	Type                          string `json:"type"`
	Condition                     string `json:"condition"`
	Reason                        string `json:"reason"`
	Pattern                       string `json:"pattern"`
	PatternGeneratedMessageSuffix string `json:"patternGeneratedMessageSuffix,omitempty"`
}

type MonitorConfig struct {
	WatcherConfig
	BufferSize             int         `json:"bufferSize"`
	Source                 string      `json:"source"`
	DefaultConditions      []Condition `json:"conditions"`
	Rules                  []Rule      `json:"rules"`
	EnableMetricsReporting *bool       `json:"metricsReporting,omitempty"`
}

func checkDuration(text string) error {
	if text == "" {
		return nil
	}
	_, err := time.ParseDuration(text)
	return err
}

func checkLog(data []byte) error {
	var c MonitorConfig
	if err := json.Unmarshal(data, &c); err != nil {
		return err
	}
	for _, r := range c.Rules {
		if _, err := regexp.Compile(r.Pattern); err != nil {
			return err
		}
	}
	switch c.Plugin {
	case "kmsg", "journald":
	case "filelog":
		for _, key := range []string{"timestamp", "message"} {
			if _, err := regexp.Compile(c.PluginConfig[key]); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("no log watcher for plugin %q", c.Plugin)
	}
	if err := checkDuration(c.Lookback); err != nil {
		return err
	}
	if err := checkDuration(c.Delay); err != nil {
		return err
	}
	if c.BufferSize < 0 {
		return fmt.Errorf("makeslice: len out of range")
	}
	return nil
}

type CustomRule struct {
	Type                 string   `json:"type"`
	Condition            string   `json:"condition"`
	Reason               string   `json:"reason"`
	Path                 string   `json:"path"`
	Args                 []string `json:"args"`
	TimeoutString        *string  `json:"timeout"`
	InvokeIntervalString *string  `json:"invoke_interval"`
}

type pluginGlobalConfig struct {
	InvokeIntervalString                    *string `json:"invoke_interval,omitempty"`
	TimeoutString                           *string `json:"timeout,omitempty"`
	MaxOutputLength                         *int    `json:"max_output_length,omitempty"`
	Concurrency                             *int    `json:"concurrency,omitempty"`
	MessageChangeBasedUpdate *bool `json:"enable_message_change_based_condition_update,omitempty"`
	SkipInitialStatus                       *bool   `json:"skip_initial_status,omitempty"`
}

type CustomPluginConfig struct {
	Plugin                 string             `json:"plugin,omitempty"`
	PluginGlobalConfig     pluginGlobalConfig `json:"pluginConfig,omitempty"`
	Source                 string             `json:"source"`
	DefaultConditions      []Condition        `json:"conditions"`
	Rules                  []*CustomRule      `json:"rules"`
	EnableMetricsReporting *bool              `json:"metricsReporting,omitempty"`
}

func orDefault(value *string, fallback string) string {
	if value == nil {
		return fallback
	}
	return *value
}

func checkCustom(data []byte) error {
	var c CustomPluginConfig
	if err := json.Unmarshal(data, &c); err != nil {
		return err
	}
	timeout, err := time.ParseDuration(orDefault(c.PluginGlobalConfig.TimeoutString, "5s"))
	if err != nil {
		return err
	}
	if _, err := time.ParseDuration(orDefault(c.PluginGlobalConfig.InvokeIntervalString, "30s")); err != nil {
		return err
	}
	for _, r := range c.Rules {
		if r.TimeoutString != nil {
			t, err := time.ParseDuration(*r.TimeoutString)
			if err != nil {
				return err
			}
			if t > timeout {
				return fmt.Errorf("plugin timeout is greater than global timeout")
			}
		}
		if r.InvokeIntervalString != nil {
			if _, err := time.ParseDuration(*r.InvokeIntervalString); err != nil {
				return err
			}
		}
	}
	if c.Plugin != "custom" {
		return fmt.Errorf("NPD does not support %q plugin for now", c.Plugin)
	}
	for _, r := range c.Rules {
		if r.Path == "" {
			return fmt.Errorf("rule path %q does not exist", r.Path)
		}
	}
	for _, r := range c.Rules {
		if r.Type != "permanent" {
			continue
		}
		found := false
		for _, d := range c.DefaultConditions {
			if d.Type == r.Condition {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("Permanent problem %s does not have preset default condition.", r.Condition)
		}
	}
	return nil
}

type MetricConfig struct {
	DisplayName string `json:"displayName"`
}

type MetricsOnly struct {
	MetricsConfigs map[string]MetricConfig `json:"metricsConfigs"`
}

type DiskStatsConfig struct {
	MetricsConfigs        map[string]MetricConfig `json:"metricsConfigs"`
	IncludeRootBlk        bool                    `json:"includeRootBlk"`
	IncludeAllAttachedBlk bool                    `json:"includeAllAttachedBlk"`
	LsblkTimeoutString    string                  `json:"lsblkTimeout"`
}

type OSFeatureStatsConfig struct {
	MetricsConfigs         map[string]MetricConfig `json:"metricsConfigs"`
	KnownModulesConfigPath string                  `json:"knownModulesConfigPath"`
}

type NetStatsInterfaceRegexp struct{ R *regexp.Regexp }

func (r *NetStatsInterfaceRegexp) UnmarshalText(data []byte) error {
	if len(data) == 0 {
		return nil
	}
	regex, err := regexp.Compile(string(data))
	if err != nil {
		return err
	}
	r.R = regex
	return nil
}

type NetStatsConfig struct {
	MetricsConfigs         map[string]MetricConfig `json:"metricsConfigs"`
	ExcludeInterfaceRegexp NetStatsInterfaceRegexp `json:"excludeInterfaceRegexp"`
}

type SystemStatsConfig struct {
	CPUConfig            MetricsOnly          `json:"cpu"`
	DiskConfig           DiskStatsConfig      `json:"disk"`
	HostConfig           MetricsOnly          `json:"host"`
	MemoryConfig         MetricsOnly          `json:"memory"`
	OsFeatureConfig      OSFeatureStatsConfig `json:"osFeature"`
	NetConfig            NetStatsConfig       `json:"net"`
	InvokeIntervalString string               `json:"invokeInterval"`
	ProcPath             string               `json:"procPath"`
}

func checkStats(data []byte) error {
	var c SystemStatsConfig
	if err := json.Unmarshal(data, &c); err != nil {
		return err
	}
	if c.InvokeIntervalString == "" {
		c.InvokeIntervalString = "1m0s"
	}
	if c.ProcPath == "" {
		c.ProcPath = "/proc"
	}
	if c.DiskConfig.LsblkTimeoutString == "" {
		c.DiskConfig.LsblkTimeoutString = "5s"
	}
	interval, err := time.ParseDuration(c.InvokeIntervalString)
	if err != nil {
		return err
	}
	lsblk, err := time.ParseDuration(c.DiskConfig.LsblkTimeoutString)
	if err != nil {
		return err
	}
	if interval <= 0 {
		return fmt.Errorf("InvokeInterval %v must be above 0s", interval)
	}
	if _, err := os.Stat(c.ProcPath); err != nil {
		return fmt.Errorf("ProcPath %v check failed: %s", c.ProcPath, err)
	}
	if lsblk <= 0 {
		return fmt.Errorf("LsblkTimeout %v must be above 0s", lsblk)
	}
	if lsblk > interval {
		return fmt.Errorf("LsblkTimeout %v must be shorter than InvokeInterval %v", lsblk, interval)
	}
	return nil
}

func lines(check func(string) (string, error)) {
	scanner := bufio.NewScanner(os.Stdin)
	scanner.Buffer(make([]byte, 1<<20), 1<<26)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for scanner.Scan() {
		var text string
		if err := json.Unmarshal(scanner.Bytes(), &text); err != nil {
			fmt.Fprintf(out, "ERR bad input line: %v\n", err)
			continue
		}
		result, err := check(text)
		if err != nil {
			fmt.Fprintf(out, "ERR %s\n", err)
		} else {
			fmt.Fprintf(out, "OK%s\n", result)
		}
	}
}

func main() {
	switch os.Args[1] {
	case "duration":
		lines(func(text string) (string, error) {
			d, err := time.ParseDuration(text)
			return fmt.Sprintf(" %d", int64(d)), err
		})
	case "regexp":
		lines(func(text string) (string, error) {
			_, err := regexp.Compile(text)
			return "", err
		})
	case "config":
		checks := map[string]func([]byte) error{"log": checkLog, "custom": checkCustom, "stats": checkStats}
		check := checks[os.Args[2]]
		for _, file := range os.Args[3:] {
			data, err := os.ReadFile(file)
			if err == nil {
				err = check(data)
			}
			if err != nil {
				fmt.Printf("ERR %s\n", err)
			} else {
				fmt.Println("OK")
			}
		}
	}
}
"""


def find_go() -> str | None:
    """The ``go`` command, or ``None`` when no Go toolchain is installed."""
    found = shutil.which("go")
    if found is not None:
        return found
    return "/usr/local/go/bin/go" if os.access("/usr/local/go/bin/go", os.X_OK) else None


def build(go: str, workdir: Path) -> Path:
    """Compile the reference program in ``workdir``; returns the executable."""
    (workdir / "main.go").write_text(GO_SOURCE)
    (workdir / "go.mod").write_text("module npdgoref\n\ngo 1.21\n")
    env = {**os.environ, "GOTOOLCHAIN": "local", "GOPROXY": "off", "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0"}
    binary = workdir / "goref"
    subprocess.run(
        [go, "build", "-o", str(binary), "."], cwd=workdir, env=env, check=True, capture_output=True
    )
    return binary


class GoReference:
    """The built reference program."""

    def __init__(self, binary: Path) -> None:
        self.binary = binary

    def _lines(self, mode: str, inputs: Sequence[str]) -> list[str]:
        payload = "".join(json.dumps(text) + "\n" for text in inputs)
        result = subprocess.run(
            [str(self.binary), mode], input=payload.encode(), capture_output=True, check=True, timeout=60
        )
        out = result.stdout.decode("utf-8", errors="replace").splitlines()
        assert len(out) == len(inputs), result.stderr.decode(errors="replace")
        return out

    def durations(self, inputs: Sequence[str]) -> list[int | str]:
        """Go's ``time.ParseDuration`` of each input: nanoseconds, or the error message."""
        answers: list[int | str] = []
        for line in self._lines("duration", inputs):
            status, _, rest = line.partition(" ")
            answers.append(int(rest) if status == "OK" else rest)
        return answers

    def regexps(self, inputs: Sequence[str]) -> list[str | None]:
        """Go's ``regexp.Compile`` of each input: ``None`` when it compiles, else the error message."""
        return [None if line == "OK" else line.removeprefix("ERR ") for line in self._lines("regexp", inputs)]

    def configs(self, kind: str, files: Sequence[Path]) -> list[str | None]:
        """Upstream's verdict on each config file (``kind``: log, custom, stats): ``None`` or the error."""
        result = subprocess.run(
            [str(self.binary), "config", kind, *map(str, files)], capture_output=True, check=True, timeout=60
        )
        out = result.stdout.decode("utf-8", errors="replace").splitlines()
        assert len(out) == len(files), result.stderr.decode(errors="replace")
        return [None if line == "OK" else line.removeprefix("ERR ") for line in out]
