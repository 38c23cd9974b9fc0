namespace Platform.Quant.Synthetic;

/// <summary>One instrument of a synthetic market: where it starts and its long-run annual drift and volatility.</summary>
public sealed record SyntheticSymbol(string Symbol, double StartPrice = 100.0, double AnnualDrift = 0.06, double AnnualVolatility = 0.25);

/// <summary>
/// How to generate a synthetic market. Returns are correlated across symbols (<see cref="Correlation"/>, or one
/// <see cref="PairwiseCorrelation"/> for every pair), with GARCH(1,1) volatility clustering and Poisson jumps.
/// </summary>
public sealed record SyntheticMarketOptions
{
    public required IReadOnlyList<SyntheticSymbol> Symbols { get; init; }
    public BarInterval Interval { get; init; } = BarInterval.OneDay;
    public DateTimeOffset Start { get; init; } = new(2020, 1, 1, 0, 0, 0, TimeSpan.Zero);
    /// <summary>Bars per symbol.</summary>
    public int Bars { get; init; } = 252;
    public ulong Seed { get; init; } = 1;

    /// <summary>Full correlation matrix (symmetric, positive definite); overrides <see cref="PairwiseCorrelation"/>.</summary>
    public double[,]? Correlation { get; init; }
    public double PairwiseCorrelation { get; init; } = 0.5;

    /// <summary>GARCH(1,1) reaction to the last squared shock; alpha + beta &lt; 1 keeps variance mean-reverting.</summary>
    public double GarchAlpha { get; init; } = 0.08;
    /// <summary>GARCH(1,1) persistence of variance.</summary>
    public double GarchBeta { get; init; } = 0.90;

    /// <summary>Chance of a jump per bar and symbol, and the jump's log-return mean and deviation.</summary>
    public double JumpProbability { get; init; } = 0.01;
    public double JumpMean { get; init; } = -0.01;
    public double JumpStdDev { get; init; } = 0.04;

    /// <summary>Steps of the intrabar path that gives high and low.</summary>
    public int IntrabarSteps { get; init; } = 16;
    public double BaseVolume { get; init; } = 1_000_000;
    /// <summary>
    /// A planted, learnable signal (0: none). Each bar's volume carries a standard-normal surprise g; with a signal κ
    /// the volume is <c>BaseVolume · exp(0.3 g)</c> (no coupling to the bar's move, so g can be read back from volume
    /// ratios) and the next bar's expected log return moves by κ · σ · g (σ: that bar's GARCH volatility). The correlation of g with the next one-bar return is then about
    /// κ / √(1 + κ²), and with the next h-bar return about κ / √(h (1 + κ²)). Volume-based features see it; a baseline
    /// that repeats past returns does not.
    /// </summary>
    public double VolumeSignal { get; init; }

    /// <summary>The signal strength the demo universe and synthetic training data plant (see <see cref="VolumeSignal"/>).</summary>
    public const double DemoVolumeSignal = 1.0;
    /// <summary>Daily and longer bars skip Saturdays and Sundays.</summary>
    public bool SkipWeekends { get; init; } = true;

    /// <summary>
    /// A regime change: from this bar index on, every symbol's volatility (its GARCH long-run level and current variance,
    /// and the size of its jumps) is <see cref="VolatilityFactor"/> times what it was. Null: no change.
    /// </summary>
    public int? VolatilityChangeAt { get; init; }

    public double VolatilityFactor { get; init; } = 1.0;

    /// <summary>A ready-made universe: <paramref name="count"/> symbols with varied drift and volatility.</summary>
    public static IReadOnlyList<SyntheticSymbol> Universe(int count)
    {
        string[] names = ["ALPHA", "BRAVO", "CHARLIE", "DELTA", "ECHO", "FOXTROT", "GOLF", "HOTEL", "INDIA", "JULIET"];
        return Enumerable.Range(0, count)
            .Select(i => new SyntheticSymbol(i < names.Length ? names[i] : $"SYN{i:D3}",
                StartPrice: 20 + 40 * i, AnnualDrift: 0.02 + 0.02 * (i % 5), AnnualVolatility: 0.15 + 0.05 * (i % 4)))
            .ToList();
    }
}

/// <summary>
/// A seeded multi-symbol market: the same options and seed give the same bars on every machine and runtime (own
/// 64-bit generator, no <see cref="Random"/>). Bars come out in time order, symbols in option order within a time.
/// </summary>
public static class SyntheticMarket
{
    public static IReadOnlyList<SymbolBar> Generate(SyntheticMarketOptions options) => Stream(options).ToList();

    public static IEnumerable<SymbolBar> Stream(SyntheticMarketOptions options)
    {
        var n = options.Symbols.Count;
        if (n == 0) yield break;
        if (options.GarchAlpha < 0 || options.GarchBeta < 0 || options.GarchAlpha + options.GarchBeta >= 1)
            throw new ArgumentException("GARCH needs alpha >= 0, beta >= 0 and alpha + beta < 1.", nameof(options));
        var chol = Cholesky(options.Correlation ?? Constant(n, options.PairwiseCorrelation));
        var rng = new SplitMix64(options.Seed);
        var barsPerYear = options.Interval.BarsPerYear;

        var price = options.Symbols.Select(s => s.StartPrice).ToArray();
        var longRunVar = options.Symbols.Select(s => s.AnnualVolatility * s.AnnualVolatility / barsPerYear).ToArray();
        var variance = (double[])longRunVar.Clone();
        var lastShock = new double[n];
        var omega = longRunVar.Select(v => v * (1 - options.GarchAlpha - options.GarchBeta)).ToArray();
        var independent = new double[n];
        var surprise = new double[n];
        var time = Align(options.Start, options.Interval);
        var daily = options.Interval.Length >= TimeSpan.FromDays(1);
        var jumpScale = 1.0;

        for (var i = 0; i < options.Bars; i++)
        {
            if (daily && options.SkipWeekends)
                while (time.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday) time = time.AddDays(1);
            if (i == options.VolatilityChangeAt)
            {
                jumpScale = options.VolatilityFactor;
                var f2 = options.VolatilityFactor * options.VolatilityFactor;
                for (var k = 0; k < n; k++)
                {
                    omega[k] *= f2;
                    variance[k] *= f2;
                    lastShock[k] *= options.VolatilityFactor;
                }
            }
            for (var k = 0; k < n; k++) independent[k] = rng.NextGaussian();
            for (var k = 0; k < n; k++)
            {
                var s = options.Symbols[k];
                if (i > 0) variance[k] = omega[k] + options.GarchAlpha * lastShock[k] * lastShock[k] + options.GarchBeta * variance[k];
                var z = 0.0;
                for (var j = 0; j <= k; j++) z += chol[k, j] * independent[j];
                var sigma = Math.Sqrt(variance[k]);
                var shock = sigma * z;
                lastShock[k] = shock;
                var jump = rng.NextDouble() < options.JumpProbability ? jumpScale * (options.JumpMean + options.JumpStdDev * rng.NextGaussian()) : 0.0;
                var logReturn = s.AnnualDrift / barsPerYear - 0.5 * variance[k] + shock + jump + options.VolumeSignal * sigma * surprise[k];

                // The open gaps a little from the previous close; the intrabar path is a Brownian bridge to the close.
                var open = price[k] * Math.Exp(0.1 * sigma * rng.NextGaussian());
                var close = price[k] * Math.Exp(logReturn);
                var (high, low) = IntrabarRange(rng, open, close, sigma, options.IntrabarSteps);
                var activity = 1 + 4 * Math.Abs(shock + jump) / Math.Max(sigma, 1e-12);
                surprise[k] = rng.NextGaussian();
                var volume = Math.Round(options.BaseVolume * Math.Exp(0.3 * surprise[k]) * (options.VolumeSignal != 0 ? 1 : activity));
                price[k] = close;
                yield return new SymbolBar(s.Symbol, options.Interval, new Bar(time, open, high, low, close, volume));
            }
            time = time.Add(options.Interval.Length);
        }
    }

    private static (double High, double Low) IntrabarRange(SplitMix64 rng, double open, double close, double sigma, int steps)
    {
        steps = Math.Max(1, steps);
        var target = Math.Log(close / open);
        var step = sigma / Math.Sqrt(steps);
        Span<double> walk = stackalloc double[steps];
        var w = 0.0;
        for (var k = 0; k < steps; k++) walk[k] = w += step * rng.NextGaussian();
        double high = Math.Max(open, close), low = Math.Min(open, close);
        for (var k = 0; k < steps - 1; k++)
        {
            var bridged = walk[k] - (k + 1.0) / steps * (w - target);
            var p = open * Math.Exp(bridged);
            if (p > high) high = p;
            if (p < low) low = p;
        }
        return (high, low);
    }

    private static DateTimeOffset Align(DateTimeOffset t, BarInterval interval)
    {
        var ticks = t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        var length = interval.Length >= TimeSpan.FromDays(7) ? TimeSpan.FromDays(1).Ticks : interval.Length.Ticks;
        var aligned = ticks - ((ticks % length) + length) % length;
        return DateTimeOffset.UnixEpoch.AddTicks(aligned);
    }

    private static double[,] Constant(int n, double rho)
    {
        var m = new double[n, n];
        for (var i = 0; i < n; i++)
            for (var j = 0; j < n; j++)
                m[i, j] = i == j ? 1.0 : rho;
        return m;
    }

    /// <summary>Lower-triangular L with L·Lᵀ = <paramref name="a"/>; throws when <paramref name="a"/> is not positive definite.</summary>
    public static double[,] Cholesky(double[,] a)
    {
        var n = a.GetLength(0);
        if (a.GetLength(1) != n) throw new ArgumentException("The correlation matrix must be square.", nameof(a));
        var l = new double[n, n];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j <= i; j++)
            {
                var sum = a[i, j];
                for (var k = 0; k < j; k++) sum -= l[i, k] * l[j, k];
                if (i == j)
                {
                    if (sum <= 0) throw new ArgumentException("The correlation matrix is not positive definite.", nameof(a));
                    l[i, i] = Math.Sqrt(sum);
                }
                else l[i, j] = sum / l[j, j];
            }
        }
        return l;
    }

    /// <summary>SplitMix64: tiny, fast, and the same sequence everywhere.</summary>
    private sealed class SplitMix64(ulong seed)
    {
        private ulong _state = seed;
        private double? _spare;

        public ulong Next()
        {
            var z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        /// <summary>Uniform in [0, 1).</summary>
        public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

        /// <summary>Standard normal (Box-Muller, both values used).</summary>
        public double NextGaussian()
        {
            if (_spare is { } s) { _spare = null; return s; }
            var u1 = 1.0 - NextDouble();
            var u2 = NextDouble();
            var r = Math.Sqrt(-2.0 * Math.Log(u1));
            _spare = r * Math.Sin(2 * Math.PI * u2);
            return r * Math.Cos(2 * Math.PI * u2);
        }
    }
}
