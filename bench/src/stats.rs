//! Percentiles and medians, plus process counters read from `/proc`.

use std::fs;

/// Nearest-rank percentile of sorted samples (`q` in 0..=1); 0 when empty.
pub fn pct(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Median of unsorted floats.
pub fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

pub fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

/// `VmRSS` and `VmHWM` in KiB from `/proc/<pid>/status`.
pub fn rss_kib(pid: u32) -> Option<(u64, u64)> {
    let s = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        s.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// Total on-CPU time of every thread of a process, in ns (`/proc/<pid>/task/*/schedstat`).
pub fn process_cpu_ns(pid: u32) -> u64 {
    let Ok(dir) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| fs::read_to_string(e.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// On-CPU time of the calling thread, in ns.
pub fn thread_cpu_ns() -> u64 {
    fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap_or(0)
}

/// CPU time spent by the whole machine (all processes, all cores) outside idle, in ns, from
/// `/proc/stat` (USER_HZ is 100 on Linux: 10 ms resolution).
pub fn system_busy_ns() -> u64 {
    fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| {
            let line = s.lines().next()?.to_string();
            let v: Vec<u64> = line
                .split_whitespace()
                .skip(1)
                .filter_map(|x| x.parse().ok())
                .collect();
            // user nice system idle iowait irq softirq steal
            let busy = v.first()? + v.get(1)? + v.get(2)? + v.get(5)? + v.get(6)? + v.get(7)?;
            Some(busy * 10_000_000)
        })
        .unwrap_or(0)
}

/// Waits until the machine is quiet: CPU busy (all processes, 100 = one core) over a 250 ms
/// sample at most `max_pct`, for at most `max_wait`. Returns the last sample and the time
/// waited. Call it while the gateway is idle, so that the busy time is other processes'.
pub fn wait_quiet(max_pct: f64, max_wait: std::time::Duration) -> (f64, std::time::Duration) {
    let t0 = std::time::Instant::now();
    loop {
        let b0 = system_busy_ns();
        let s0 = std::time::Instant::now();
        std::thread::sleep(std::time::Duration::from_millis(250));
        let busy =
            system_busy_ns().saturating_sub(b0) as f64 / s0.elapsed().as_nanos() as f64 * 100.0;
        if busy <= max_pct || t0.elapsed() >= max_wait {
            return (busy, t0.elapsed());
        }
    }
}

/// Has the process installed a handler for signal `signo` (`SigCgt` in `/proc/<pid>/status`)?
/// A signal sent before that would take its default action (SIGUSR1: terminate).
pub fn catches_signal(pid: u32, signo: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("SigCgt:"))?;
            u64::from_str_radix(line.split_whitespace().nth(1)?, 16).ok()
        })
        .is_some_and(|mask| (1..=64).contains(&signo) && mask & (1u64 << (signo - 1)) != 0)
}

/// Number of threads of a process.
pub fn thread_count(pid: u32) -> usize {
    fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(pct(&v, 0.5), 50);
        assert_eq!(pct(&v, 0.99), 99);
        assert_eq!(pct(&v, 1.0), 100);
        assert_eq!(pct(&[7], 0.99), 7);
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}
