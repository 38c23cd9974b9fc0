using System.Diagnostics;

namespace Platform.Bench;

/// <summary>Latency samples in microseconds with exact percentiles (nearest-rank over the sorted samples).</summary>
public sealed class LatencyRecorder(int capacity = 1024)
{
    private readonly List<double> _micros = new(capacity);

    public int Count => _micros.Count;

    public void Add(TimeSpan elapsed) => _micros.Add(elapsed.TotalMicroseconds);
    public void AddTicks(long stopwatchTicks) => _micros.Add(stopwatchTicks * 1_000_000.0 / Stopwatch.Frequency);

    /// <summary>Adds every sample of <paramref name="other"/>.</summary>
    public void AddAll(LatencyRecorder other) => _micros.AddRange(other._micros);

    public double Percentile(double p)
    {
        if (_micros.Count == 0) return double.NaN;
        var sorted = _micros.Order().ToArray();
        var rank = (int)Math.Ceiling(p / 100.0 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    public string Summary(string unit = "us") =>
        unit == "ms"
            ? $"p50 {Percentile(50) / 1000:F3} ms, p99 {Percentile(99) / 1000:F3} ms, max {Percentile(100) / 1000:F3} ms (n={Count})"
            : $"p50 {Percentile(50):F1} us, p99 {Percentile(99):F1} us, max {Percentile(100):F1} us (n={Count})";
}
