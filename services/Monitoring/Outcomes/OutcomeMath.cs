using Platform.Modeling.Targets;
using Platform.Quant;

namespace Platform.Monitoring.Outcomes;

/// <summary>
/// The realised target of a prediction and the live baselines on its date, from one series' bars, with the target
/// definitions training uses (<see cref="Targets.Compute"/>): the decision bar is the last bar at or before the
/// prediction time; the target uses the h bars after it.
/// </summary>
public sealed class OutcomeMath
{
    private readonly IReadOnlyList<Bar> _bars;
    private readonly int _trailing;
    private readonly double[] _r;

    public OutcomeMath(IReadOnlyList<Bar> bars, int trailingBars)
    {
        _bars = bars;
        _trailing = trailingBars;
        _r = new double[bars.Count];
        _r[0] = double.NaN;
        for (var i = 1; i < bars.Count; i++) _r[i] = Math.Log(Targets.Price(bars[i]) / Targets.Price(bars[i - 1]));
    }

    /// <summary>Index of the last bar at or before <paramref name="time"/>, or -1.</summary>
    public int DecisionBar(DateTimeOffset time)
    {
        int lo = 0, hi = _bars.Count - 1, found = -1;
        while (lo <= hi)
        {
            var mid = (lo + hi) / 2;
            if (_bars[mid].Time <= time) { found = mid; lo = mid + 1; }
            else hi = mid - 1;
        }
        return found;
    }

    /// <summary>The outcome of a prediction at decision bar <paramref name="i"/>, or null while the horizon has not passed.</summary>
    public (double Realised, double Last, double Trailing, DateTimeOffset KnownAt)? Outcome(int i, TargetSpec spec)
    {
        var h = spec.Horizon;
        if (i < 0 || i + h >= _bars.Count) return null;
        var realised = Target(i, spec);
        var last = i >= h ? Target(i - h, spec) : double.NaN;
        return (realised, last, Trailing(i, spec), _bars[i + h].Time);
    }

    private double Target(int start, TargetSpec spec)
    {
        var window = new Bar[spec.Horizon + 1];
        for (var k = 0; k <= spec.Horizon; k++) window[k] = _bars[start + k];
        return Targets.Compute(window, spec)[0];
    }

    /// <summary>
    /// The trailing baseline known at the close of bar i, over <c>TrailingBars</c> one-bar returns: volatility, the
    /// trailing realised volatility scaled to the horizon (as <see cref="Targets.TrailingVolatility"/>); return, the mean
    /// one-bar return times the horizon; direction, the share of up bars.
    /// </summary>
    private double Trailing(int i, TargetSpec spec)
    {
        if (i < _trailing) return double.NaN;
        double sum = 0, sumSq = 0; var up = 0;
        for (var k = i - _trailing + 1; k <= i; k++)
        {
            sum += _r[k];
            sumSq += _r[k] * _r[k];
            if (_r[k] > 0) up++;
        }
        return spec.Kind switch
        {
            TargetKind.Volatility => Math.Sqrt(sumSq / _trailing * spec.Horizon),
            TargetKind.Direction => (double)up / _trailing,
            _ => sum / _trailing * spec.Horizon,
        };
    }
}
