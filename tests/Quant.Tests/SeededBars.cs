namespace Platform.Quant.Tests;

/// <summary>A deterministic random walk of daily OHLCV bars (own 64-bit generator, so the series never changes with the runtime).</summary>
public static class SeededBars
{
    public static readonly DateTimeOffset Start = new(2015, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static Bar[] Generate(int count, ulong seed = 42, double startPrice = 100.0, bool withVwap = false)
    {
        var rng = new SplitMix64(seed);
        var bars = new Bar[count];
        var price = startPrice;
        for (var i = 0; i < count; i++)
        {
            var open = price * (1 + (rng.NextDouble() - 0.5) * 0.004);
            var close = open * (1 + (rng.NextDouble() - 0.5) * 0.04);
            var high = Math.Max(open, close) * (1 + rng.NextDouble() * 0.01);
            var low = Math.Min(open, close) * (1 - rng.NextDouble() * 0.01);
            var volume = Math.Floor(200_000 + rng.NextDouble() * 1_000_000);
            double? vwap = withVwap ? low + (high - low) * rng.NextDouble() : null;
            bars[i] = new Bar(Start.AddDays(i), open, high, low, close, volume, null, vwap);
            price = close;
        }
        return bars;
    }

    public sealed class SplitMix64(ulong seed)
    {
        private ulong _state = seed;

        public ulong Next()
        {
            var z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        public double NextDouble() => (Next() >> 11) * (1.0 / 9007199254740992.0);
    }
}

public static class Approx
{
    /// <summary>
    /// True when both are NaN, or |a − b| ≤ relative·max(|a|, |b|) + absolute. The absolute floor only
    /// matters for values that should be exactly zero (a sum that cancels to 0 in exact arithmetic).
    /// </summary>
    public static bool Equal(double a, double b, double relative = 1e-9, double absolute = 1e-12)
    {
        if (double.IsNaN(a) || double.IsNaN(b)) return double.IsNaN(a) && double.IsNaN(b);
        if (a == b) return true;
        return Math.Abs(a - b) <= relative * Math.Max(Math.Abs(a), Math.Abs(b)) + absolute;
    }

    public static void AssertEqual(double expected, double actual, string what, double relative = 1e-9, double absolute = 1e-12)
    {
        if (!Equal(expected, actual, relative, absolute))
            Assert.Fail($"{what}: expected {expected:R}, got {actual:R} (difference {Math.Abs(expected - actual):E3})");
    }
}
