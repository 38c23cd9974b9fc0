using System.Text.Json.Serialization;
using Platform.Quant;

namespace Platform.Modeling.Targets;

[JsonConverter(typeof(JsonStringEnumConverter<TargetKind>))]
public enum TargetKind
{
    /// <summary>Forward log return over h bars: ln(P[t+h] / P[t]).</summary>
    Return,
    /// <summary>Forward direction over h bars: 1 when the forward log return is positive, else 0.</summary>
    Direction,
    /// <summary>Forward realized volatility over h bars: sqrt(sum of squared one-bar log returns t+1..t+h).</summary>
    Volatility,
}

/// <summary>What a model predicts: a target kind over a horizon of <see cref="Horizon"/> bars.</summary>
public sealed record TargetSpec(TargetKind Kind, int Horizon)
{
    public string Id => $"{Kind.ToString().ToLowerInvariant()}:{Horizon}";

    public void Validate()
    {
        if (Horizon < 1) throw new ArgumentOutOfRangeException(nameof(Horizon), Horizon, "The horizon must be at least one bar.");
    }

    public static TargetKind ParseKind(string text) => text.Trim().ToLowerInvariant() switch
    {
        "return" or "returns" => TargetKind.Return,
        "direction" => TargetKind.Direction,
        "volatility" or "vol" => TargetKind.Volatility,
        _ => throw new FormatException($"Unknown target '{text}'. Use return, direction or volatility."),
    };
}

/// <summary>
/// Forward targets computed from a symbol's bars. Prices are the adjusted close when the vendor gives one
/// (splits and dividends would otherwise show up as returns), the close otherwise. The value at index t uses
/// bars t+1..t+h only, so it is known at the close of bar t+h; the last h values are NaN.
/// </summary>
public static class Targets
{
    /// <summary>The smallest volatility forecast any model returns: forecasts are positive by construction (QLIKE needs it).</summary>
    public const double VolatilityFloor = 1e-6;

    /// <summary>Floors forecasts at <see cref="VolatilityFloor"/> when <paramref name="target"/> is a volatility target.</summary>
    public static void FloorVolatility(TargetSpec? target, Span<double> forecasts)
    {
        if (target?.Kind != TargetKind.Volatility) return;
        foreach (ref var f in forecasts) f = Math.Max(f, VolatilityFloor);
    }

    public static double Price(in Bar bar) => bar.AdjClose ?? bar.Close;

    public static double[] Compute(IReadOnlyList<Bar> bars, TargetSpec spec)
    {
        spec.Validate();
        var n = bars.Count;
        var h = spec.Horizon;
        var y = new double[n];
        Array.Fill(y, double.NaN);
        if (spec.Kind == TargetKind.Volatility)
        {
            var r2 = OneBarSquaredReturns(bars);
            // Prefix sums of squared one-bar returns: RV(t, h) = sqrt(S[t+h] - S[t]).
            var prefix = new double[n + 1];
            for (var i = 1; i < n; i++) prefix[i + 1] = prefix[i] + r2[i];
            for (var t = 0; t + h < n; t++) y[t] = Math.Sqrt(Math.Max(0, prefix[t + h + 1] - prefix[t + 1]));
            return y;
        }
        for (var t = 0; t + h < n; t++)
        {
            var r = Math.Log(Price(bars[t + h]) / Price(bars[t]));
            y[t] = spec.Kind == TargetKind.Direction ? (double.IsNaN(r) ? double.NaN : r > 0 ? 1.0 : 0.0) : r;
        }
        return y;
    }

    /// <summary>Squared one-bar log returns; index i is ln(P[i]/P[i-1])^2, index 0 is NaN.</summary>
    public static double[] OneBarSquaredReturns(IReadOnlyList<Bar> bars)
    {
        var r2 = new double[bars.Count];
        if (bars.Count > 0) r2[0] = double.NaN;
        for (var i = 1; i < bars.Count; i++)
        {
            var r = Math.Log(Price(bars[i]) / Price(bars[i - 1]));
            r2[i] = r * r;
        }
        return r2;
    }

    /// <summary>
    /// Trailing realized volatility over <paramref name="window"/> bars ending at t (inclusive), scaled to the
    /// same horizon as the target (sqrt(h * mean squared return)): the HAR-RV regressors. Known at the close of t.
    /// </summary>
    public static double[] TrailingVolatility(IReadOnlyList<Bar> bars, int window, int horizon)
    {
        var r2 = OneBarSquaredReturns(bars);
        var n = bars.Count;
        var v = new double[n];
        var sum = 0.0;
        for (var t = 0; t < n; t++)
        {
            if (t >= 1) sum += r2[t];
            if (t - window >= 1) sum -= r2[t - window];
            v[t] = t >= window ? Math.Sqrt(Math.Max(0, sum / window * horizon)) : double.NaN;
        }
        return v;
    }
}
