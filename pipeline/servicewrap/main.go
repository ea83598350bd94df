// servicewrap: mounted into a service container, it runs the image's own entrypoint
// while keeping its output and sampling its cgroup, without touching the image.
//
//	servicewrap run DIR -- ENTRYPOINT [ARGS...]
//
// Under Dagger the container's PID 1 is the engine's own init (/.init): it starts its
// child in a session of its own, passes every signal on to the child's process group
// and, once that child exits, asks what is left of the group to stop and ends the
// container (the kernel then kills the rest). servicewrap is that child, and does the
// same for the entrypoint: it opens START/stdout.log and START/stderr.log, starts the
// entrypoint in a session of its own, passes on each signal it gets (one that comes
// before the entrypoint runs waits for it), and exits with the entrypoint's status
// (128 + the signal that ended it). It copies the entrypoint's fds 1 and 2 both to
// the container's own stdout/stderr (the engine's progress still shows them) and to
// those files, and every 500 ms appends one line to START/samples.jsonl: wall time,
// the cgroup's CPU time and its working-set memory (usage minus inactive file cache,
// as the kubelet counts it). When the entrypoint exits, servicewrap reads what its
// pipes hold before it exits in turn, waiting for nothing it left behind: a service
// that prints why it cannot start and exits at once keeps those words (an exec'd
// entrypoint with a copier beside it lost them whenever the container ended before
// the copier had read them). What differs from the init alone: the exit code of an
// entrypoint that cannot be run (127, where the init exits 1), and SIGTSTP, which
// the init turns into a SIGSTOP of its child's group, which stops servicewrap and not
// the entrypoint.
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
	"errors"
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

func run(parent string, command []string) {
	// Caught from the first moment, each signal the init sends this group is passed on to
	// the entrypoint's own group, as the init itself passes it on: one that comes before
	// the entrypoint runs waits in the channel for it.
	signals := make(chan os.Signal, 64)
	signal.Notify(signals)

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
	stamp := now.UTC().Format(time.RFC3339Nano)

	child := exec.Command(command[0], command[1:]...)
	child.Args = command
	if errors.Is(child.Err, exec.ErrDot) {
		child.Err = nil // the init runs a name found in "." too
	}
	child.Stdin = os.Stdin
	// A session and process group of its own, as the init gives it.
	child.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	// The files are open before the entrypoint runs, so nothing it says comes too early.
	var streams [2]*stream
	var ends [2]*os.File
	for i, name := range []string{"stdout.log", "stderr.log"} {
		r, w, err := os.Pipe()
		if err != nil {
			fail("%v", err)
		}
		ends[i] = w
		streams[i] = &stream{src: r, dst: []*os.File{os.Stdout, os.Stderr}[i],
			log: openLog(filepath.Join(dir, name), stamp)}
	}
	child.Stdout, child.Stderr = ends[0], ends[1]
	go sample(filepath.Join(dir, "samples.jsonl"))
	if err := child.Start(); err != nil {
		streams[1].write([]byte(fmt.Sprintf("servicewrap: exec %s: %v\n", command[0], err)))
		os.Exit(127)
	}
	// Only the entrypoint (and what it starts) holds the write ends now.
	ends[0].Close()
	ends[1].Close()
	pid := child.Process.Pid
	go func() {
		for sig := range signals {
			// Not the runtime's own SIGURG, nor the news of the entrypoint's exit.
			if s := sig.(syscall.Signal); s != syscall.SIGURG && s != syscall.SIGCHLD {
				syscall.Kill(-pid, s)
			}
		}
	}()
	var wg sync.WaitGroup
	for _, s := range streams {
		wg.Add(1)
		go func(s *stream) {
			defer wg.Done()
			s.copy()
		}(s)
	}
	pruneStarts(parent, now) // once the entrypoint runs: removing old starts takes time

	child.Wait()
	status := child.ProcessState.Sys().(syscall.WaitStatus)
	// As the init does once its child exits: what is left of the entrypoint's group is
	// asked to stop, and the container ends at once. All the entrypoint wrote is in the
	// pipes by now: read to the end of what is there, not waiting for what it left behind.
	syscall.Kill(-pid, syscall.SIGTERM)
	for _, s := range streams {
		s.src.SetReadDeadline(time.Now())
	}
	wg.Wait()
	for _, s := range streams {
		s.drain()
	}
	if status.Signaled() {
		os.Exit(128 + int(status.Signal()))
	}
	os.Exit(status.ExitStatus())
}

// stream is one of the entrypoint's output pipes: copied to dst and, up to maxKept
// bytes, to log (nil: the file could not be opened, and the stream only reaches dst).
type stream struct {
	src, dst, log *os.File
	kept          int64
}

// copy copies as the entrypoint writes, each chunk as it comes, so that what was said
// before a crash is on disk; until the pipe ends or its read deadline passes.
func (s *stream) copy() {
	buf := make([]byte, 32*1024)
	for {
		n, err := s.src.Read(buf)
		s.write(buf[:n])
		if err != nil {
			return
		}
	}
}

// drain copies what the pipe holds now, without waiting for more.
func (s *stream) drain() {
	s.src.SetReadDeadline(time.Time{})
	conn, err := s.src.SyscallConn()
	if err != nil {
		return
	}
	buf := make([]byte, 32*1024)
	conn.Read(func(fd uintptr) bool {
		for {
			n, err := syscall.Read(int(fd), buf)
			if n <= 0 || err != nil {
				return true // empty (EAGAIN), ended or failed: done either way
			}
			s.write(buf[:n])
		}
	})
}

func (s *stream) write(p []byte) {
	if len(p) == 0 {
		return
	}
	s.dst.Write(p)
	// Bounded whatever the service says: past the cap it still reaches the container's
	// own output, but the kept file stops growing.
	if s.log == nil || s.kept >= maxKept {
		return
	}
	if s.kept+int64(len(p)) > maxKept {
		p = p[:maxKept-s.kept]
	}
	s.log.Write(p)
	s.kept += int64(len(p))
	if s.kept >= maxKept {
		fmt.Fprintf(s.log, "\n--- servicewrap: output past %d bytes not kept\n", maxKept)
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
