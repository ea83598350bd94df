// servicewrap: mounted into a service container, it runs the image's own entrypoint
// while keeping its output and sampling its cgroup, without touching the image.
//
//	servicewrap run DIR -- ENTRYPOINT [ARGS...]
//
// Under Dagger the container's PID 1 is the engine's own init (/.init), which forwards
// every signal to its child's process group and, once that child exits, ends the
// container (the kernel then kills whatever is left). servicewrap is that child: it
// opens START/stdout.log and START/stderr.log, then starts the entrypoint beside it in
// the process group the init signals, so that those signals reach the entrypoint as
// they would without the wrapper (servicewrap takes its own copy and lets it be), and
// so do the exit codes. It copies each of
// the entrypoint's fds 1 and 2 both to the container's own stdout/stderr (the
// engine's progress still shows them) and to those files, and every 500 ms appends
// one line to START/samples.jsonl: wall time, the cgroup's CPU time and its
// working-set memory (usage minus inactive file cache, as the kubelet counts it).
// When the entrypoint exits, servicewrap reads its pipes to the end before it exits
// with the entrypoint's status: a service that prints why it cannot start and exits
// at once keeps those words (an exec'd entrypoint with a copier beside it lost them
// whenever the container ended before the copier had read them).
// START is a folder of DIR's own to each start, named by its start time
// (DIR/<unix ns>-<random>): the volume outlives runs, so that the same service
// definition in another run is the same definition (and its tests' result can
// come from the cache), and a start is told apart by when it happened. Only the
// newest starts are kept (keptStarts).
//
//	servicewrap copy SECONDS DIR DST [DIR DST ...]
//
// appends, oldest first, the files of every start of each DIR in the last SECONDS
// (by this container's clock, the clock the starts were named by) into its DST,
// made only when there is one (a reader container has no other tool).
//
//	servicewrap get FILE OUT    (FILE copied to OUT; exit 3 if there is none)
//	servicewrap put SRC DST     (SRC copied to DST atomically: a reader sees all or nothing)
//
// read and write one file of a cache volume for a store the engine keeps
// (pipeline.lanes.reuse: contract results in module mode, whose own disk is fresh on
// every call).
//
// Only the standard library, and nothing newer than Go 1.19 (Debian bookworm's Go).
package main

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Per stream, and samples (a day at two a second): what a report can hold.
const (
	maxKept    = 16 << 20
	maxSamples = 172800
	keptStarts = 16 // per instance folder: a run starts each instance once or a few times
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "servicewrap: "+format+"\n", args...)
	os.Exit(127)
}

func main() {
	if len(os.Args) < 2 {
		fail("usage: servicewrap run DIR -- CMD... | copy SECONDS DIR DST... | init DIR... | get FILE OUT | put SRC DST")
	}
	switch os.Args[1] {
	case "run":
		if len(os.Args) < 5 || os.Args[3] != "--" {
			fail("usage: servicewrap run DIR -- CMD...")
		}
		run(os.Args[2], os.Args[4:])
	case "copy":
		if len(os.Args) < 5 || len(os.Args)%2 != 1 {
			fail("usage: servicewrap copy SECONDS DIR DST [DIR DST ...]")
		}
		seconds, err := strconv.ParseFloat(os.Args[2], 64)
		if err != nil {
			fail("SECONDS: %v", err)
		}
		since := time.Now().UnixNano() - int64(seconds*1e9)
		for i := 3; i < len(os.Args); i += 2 {
			if _, err := copyStarts(os.Args[i], os.Args[i+1], since); err != nil {
				fail("%v", err)
			}
		}
	case "init":
		// Run as root, once a run (a volume may have been pruned since the last): the
		// folder every service may write, whatever user it runs as. (A seeded volume
		// would need no root step, but it is mounted as an overlay, and the kernel
		// refuses a second overlay mount of it while a service still writes there:
		// the reader's.)
		for _, dir := range os.Args[2:] {
			if err := os.MkdirAll(dir, 0o777); err != nil {
				fail("%v", err)
			}
			if err := os.Chmod(dir, 0o777); err != nil {
				fail("%v", err)
			}
		}
	case "get":
		if len(os.Args) != 4 {
			fail("usage: servicewrap get FILE OUT")
		}
		in, err := os.Open(os.Args[2])
		if os.IsNotExist(err) {
			os.Exit(3)
		}
		if err != nil {
			fail("%v", err)
		}
		if info, err := in.Stat(); err != nil || !info.Mode().IsRegular() || info.Size() > maxKept {
			fail("%s: not a regular file of at most %d bytes", os.Args[2], maxKept)
		}
		in.Close()
		if err := putFile(os.Args[2], os.Args[3]); err != nil {
			fail("%v", err)
		}
	case "put":
		if len(os.Args) != 4 {
			fail("usage: servicewrap put SRC DST")
		}
		if err := putFile(os.Args[2], os.Args[3]); err != nil {
			fail("%v", err)
		}
	default:
		fail("unknown mode %q", os.Args[1])
	}
}

// drainBound: how long servicewrap reads the pipes after the entrypoint exited. They end
// at once unless something the entrypoint started outlives it holding them (the init
// would have killed it with the container).
const drainBound = time.Second

func run(parent string, command []string) {
	// Every signal the init forwards to this group reaches the entrypoint too: taken here
	// (and dropped), so servicewrap stays to keep the last words. Caught, not ignored:
	// the entrypoint starts with the default dispositions, as under the init alone.
	signals := make(chan os.Signal, 64)
	signal.Notify(signals)
	go func() {
		for range signals {
		}
	}()

	now := time.Now()
	dir := filepath.Join(parent, startName(now))
	// World-writable, whatever the umask: the next start may be another image's, run as
	// another user (the volume outlives runs).
	for _, d := range []string{parent, dir} {
		if err := os.MkdirAll(d, 0o777); err != nil {
			fmt.Fprintf(os.Stderr, "servicewrap: %v\n", err)
		}
		os.Chmod(d, 0o777)
	}
	pruneStarts(parent, now)
	stamp := now.UTC().Format(time.RFC3339Nano)

	// No process group of its own: it stays in this one, the group the init signals.
	// The files are open before the entrypoint runs, so nothing it says comes too early.
	child := exec.Command(command[0], command[1:]...)
	child.Args = command
	child.Stdin = os.Stdin
	var wg sync.WaitGroup
	var logs, ends [2]*os.File
	for i, name := range []string{"stdout.log", "stderr.log"} {
		r, w, err := os.Pipe()
		if err != nil {
			fail("%v", err)
		}
		ends[i] = w
		logs[i] = openLog(filepath.Join(dir, name), stamp)
		dst := []*os.File{os.Stdout, os.Stderr}[i]
		wg.Add(1)
		go func(src, dst, log *os.File) {
			defer wg.Done()
			copyStream(src, dst, log)
		}(r, dst, logs[i])
	}
	child.Stdout, child.Stderr = ends[0], ends[1]
	go sample(filepath.Join(dir, "samples.jsonl"))
	if err := child.Start(); err != nil {
		why := fmt.Sprintf("servicewrap: exec %s: %v\n", command[0], err)
		os.Stderr.WriteString(why)
		if logs[1] != nil {
			logs[1].WriteString(why)
		}
		os.Exit(127)
	}
	// Only the entrypoint (and what it starts) holds the write ends now.
	ends[0].Close()
	ends[1].Close()
	child.Wait()
	status := child.ProcessState.Sys().(syscall.WaitStatus)

	// As the init does when its child exits: whatever is left of the group (this process
	// aside, which takes the signal) is asked to stop. Only a group of servicewrap's own
	// (the init starts it in a session of its own): never a caller's.
	if syscall.Getpgrp() == os.Getpid() {
		syscall.Kill(0, syscall.SIGTERM)
	}
	drained := make(chan struct{})
	go func() { wg.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(drainBound):
	}
	if status.Signaled() {
		os.Exit(128 + int(status.Signal()))
	}
	os.Exit(status.ExitStatus())
}

// copyStream copies src to dst and to the log file, writing each chunk as it comes
// so that what was said before a crash is on disk.
// (log nil: the file could not be opened, and the stream only reaches dst.)
func copyStream(src, dst, log *os.File) {
	if log == nil {
		io.Copy(dst, src)
		return
	}
	defer log.Close()
	buf := make([]byte, 32*1024)
	kept := int64(0)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			dst.Write(buf[:n])
			// Bounded whatever the service says: past the cap it still reaches the
			// container's own output, but the kept file stops growing.
			if kept < maxKept {
				if kept+int64(n) > maxKept {
					n = int(maxKept - kept)
				}
				log.Write(buf[:n])
				kept += int64(n)
				if kept >= maxKept {
					fmt.Fprintf(log, "\n--- servicewrap: output past %d bytes not kept\n", maxKept)
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// openLog opens a kept stream's file and heads it with the start's time; nil if it cannot.
func openLog(path, stamp string) *os.File {
	log, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		fmt.Fprintf(os.Stderr, "servicewrap: %v\n", err)
		return nil
	}
	fmt.Fprintf(log, "--- started %s\n", stamp)
	return log
}

// cgroup v2 exposes the container's own cgroup at /sys/fs/cgroup; v1 one directory
// per controller.
func cpuMicros() (int64, bool) {
	if v, ok := statField("/sys/fs/cgroup/cpu.stat", "usage_usec"); ok {
		return v, true
	}
	for _, p := range []string{"/sys/fs/cgroup/cpuacct/cpuacct.usage", "/sys/fs/cgroup/cpu,cpuacct/cpuacct.usage"} {
		if v, ok := readInt(p); ok {
			return v / 1000, true
		}
	}
	return 0, false
}

func memoryBytes() (int64, bool) {
	if usage, ok := readInt("/sys/fs/cgroup/memory.current"); ok {
		inactive, _ := statField("/sys/fs/cgroup/memory.stat", "inactive_file")
		return workingSet(usage, inactive), true
	}
	if usage, ok := readInt("/sys/fs/cgroup/memory/memory.usage_in_bytes"); ok {
		inactive, _ := statField("/sys/fs/cgroup/memory/memory.stat", "total_inactive_file")
		return workingSet(usage, inactive), true
	}
	return 0, false
}

func workingSet(usage, inactive int64) int64 {
	if inactive > usage {
		return 0
	}
	return usage - inactive
}

func readInt(path string) (int64, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	return v, err == nil
}

func statField(path, key string) (int64, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) == 2 && fields[0] == key {
			v, err := strconv.ParseInt(fields[1], 10, 64)
			return v, err == nil
		}
	}
	return 0, false
}

func sample(path string) {
	out, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	for i := 0; i < maxSamples; i++ {
		cpu, cpuOK := cpuMicros()
		mem, memOK := memoryBytes()
		line := fmt.Sprintf(`{"t":%.3f`, float64(time.Now().UnixNano())/1e9)
		if cpuOK {
			line += fmt.Sprintf(`,"cpu_usec":%d`, cpu)
		}
		if memOK {
			line += fmt.Sprintf(`,"mem_bytes":%d`, mem)
		}
		out.WriteString(line + "}\n")
		time.Sleep(500 * time.Millisecond)
	}
}

// startName sorts by time as a string: the nanoseconds are zero-padded to 20 digits.
func startName(t time.Time) string {
	random := make([]byte, 4)
	rand.Read(random)
	return fmt.Sprintf("%020d-%s", t.UnixNano(), hex.EncodeToString(random))
}

// starts lists DIR's start folders, oldest first, with their start times.
func starts(dir string) ([]string, []int64) {
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		if e.IsDir() && len(e.Name()) > 21 && e.Name()[20] == '-' {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	times := make([]int64, len(names))
	for i, name := range names {
		times[i], _ = strconv.ParseInt(name[:20], 10, 64)
	}
	return names, times
}

// pruneStarts keeps the newest keptStarts starts, and none named after `now` plus a
// minute (a clock stepped back, or a crafted name, would otherwise be kept and read forever).
// Another user's folder that cannot be removed stays; it is only read while it is new.
func pruneStarts(dir string, now time.Time) {
	names, times := starts(dir)
	late := now.Add(time.Minute).UnixNano()
	var kept []string
	for i, name := range names {
		if times[i] > late {
			os.RemoveAll(filepath.Join(dir, name))
		} else {
			kept = append(kept, name)
		}
	}
	for len(kept) > keptStarts {
		os.RemoveAll(filepath.Join(dir, kept[0]))
		kept = kept[1:]
	}
}

// copyStarts appends the regular files of every start of DIR since `since` (unix ns)
// to DST under their own names, oldest start first; how many starts it found.
func copyStarts(dir, dst string, since int64) (int, error) {
	names, times := starts(dir)
	late := time.Now().Add(time.Minute).UnixNano()
	found := 0
	for i, name := range names {
		if times[i] < since || times[i] > late {
			continue
		}
		if found++; found == 1 {
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return 0, err
			}
		}
		files, err := os.ReadDir(filepath.Join(dir, name))
		if err != nil {
			return found, err
		}
		for _, f := range files {
			if f.Type().IsRegular() {
				if err := appendFile(filepath.Join(dir, name, f.Name()), filepath.Join(dst, f.Name())); err != nil {
					return found, err
				}
			}
		}
	}
	return found, nil
}

func putFile(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp := fmt.Sprintf("%s.%s.tmp", dst, startName(time.Now()))
	if err := appendFile(src, tmp); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, dst)
}

func appendFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer out.Close()
	_, err = io.Copy(out, in)
	return err
}
