namespace Platform.Quant.Indicators;

/// <summary>
/// Realised-volatility estimators over the last <c>period</c> bars, as per-bar standard deviations of
/// log returns (not annualised: multiply by √<see cref="BarInterval.BarsPerYear"/> to annualise).
/// </summary>
public enum VolatilityEstimator
{
    /// <summary>Sample standard deviation (n − 1) of close-to-close log returns; needs period + 1 bars.</summary>
    CloseToClose,

    /// <summary>Parkinson (1980): √(Σ ln(H/L)² / (4·ln 2·n)).</summary>
    Parkinson,

    /// <summary>Garman–Klass (1980): √(mean of ½·ln(H/L)² − (2·ln 2 − 1)·ln(C/O)²).</summary>
    GarmanKlass,

    /// <summary>Rogers–Satchell (1991): √(mean of ln(H/C)·ln(H/O) + ln(L/C)·ln(L/O)); drift-independent.</summary>
    RogersSatchell,

    /// <summary>
    /// Yang–Zhang (2000): σ² = σ²(overnight ln(O/C₋₁)) + k·σ²(open-to-close ln(C/O)) + (1 − k)·σ²(RS),
    /// sample variances (n − 1) for the first two, k = 0.34 / (1.34 + (n + 1)/(n − 1)); needs period + 1 bars.
    /// </summary>
    YangZhang,
}

/// <summary>A realised-volatility estimator over a rolling window of bars; see <see cref="VolatilityEstimator"/>.</summary>
public sealed class RealizedVolatility : BarIndicator
{
    private static readonly double Ln2 = Math.Log(2.0);
    private readonly RollingMoments _a, _b, _c;
    private readonly VolatilityEstimator _estimator;
    private double _previousClose;

    public RealizedVolatility(VolatilityEstimator estimator, int period = 20)
        : base($"rv_{Short(estimator)}_{period}", WarmUp(estimator, period))
    {
        _estimator = estimator;
        Period = period;
        _a = new RollingMoments(period);
        _b = new RollingMoments(period);
        _c = new RollingMoments(period);
    }

    public int Period { get; }
    public VolatilityEstimator Estimator => _estimator;

    private static int WarmUp(VolatilityEstimator estimator, int period) => estimator switch
    {
        VolatilityEstimator.CloseToClose or VolatilityEstimator.YangZhang => Guard.Period(period, 2) + 1,
        _ => Guard.Period(period),
    };

    internal static string Short(VolatilityEstimator estimator) => estimator switch
    {
        VolatilityEstimator.CloseToClose => "cc",
        VolatilityEstimator.Parkinson => "parkinson",
        VolatilityEstimator.GarmanKlass => "gk",
        VolatilityEstimator.RogersSatchell => "rs",
        VolatilityEstimator.YangZhang => "yz",
        _ => throw new ArgumentOutOfRangeException(nameof(estimator)),
    };

    internal static double RogersSatchellTerm(in Bar bar) =>
        Math.Log(bar.High / bar.Close) * Math.Log(bar.High / bar.Open) + Math.Log(bar.Low / bar.Close) * Math.Log(bar.Low / bar.Open);

    protected override double ComputeNext(in Bar bar)
    {
        var first = Samples == 1;
        var previousClose = _previousClose;
        _previousClose = bar.Close;
        switch (_estimator)
        {
            case VolatilityEstimator.CloseToClose:
                if (first) return double.NaN;
                _a.Add(Math.Log(bar.Close / previousClose));
                return _a.IsFull ? Math.Sqrt(_a.SampleVariance) : double.NaN;
            case VolatilityEstimator.Parkinson:
            {
                var hl = Math.Log(bar.High / bar.Low);
                _a.Add(hl * hl);
                return _a.IsFull ? Math.Sqrt(_a.Mean / (4.0 * Ln2)) : double.NaN;
            }
            case VolatilityEstimator.GarmanKlass:
            {
                var hl = Math.Log(bar.High / bar.Low);
                var co = Math.Log(bar.Close / bar.Open);
                _a.Add(0.5 * hl * hl - (2.0 * Ln2 - 1.0) * co * co);
                return _a.IsFull ? Math.Sqrt(Math.Max(0.0, _a.Mean)) : double.NaN;
            }
            case VolatilityEstimator.RogersSatchell:
                _a.Add(RogersSatchellTerm(bar));
                return _a.IsFull ? Math.Sqrt(Math.Max(0.0, _a.Mean)) : double.NaN;
            default:
            {
                if (first) return double.NaN;
                _a.Add(Math.Log(bar.Open / previousClose));
                _b.Add(Math.Log(bar.Close / bar.Open));
                _c.Add(RogersSatchellTerm(bar));
                if (!_a.IsFull) return double.NaN;
                var n = (double)Period;
                var k = 0.34 / (1.34 + (n + 1) / (n - 1));
                var variance = _a.SampleVariance + k * _b.SampleVariance + (1 - k) * _c.Mean;
                return Math.Sqrt(Math.Max(0.0, variance));
            }
        }
    }

    protected override void OnReset()
    {
        _a.Clear();
        _b.Clear();
        _c.Clear();
        _previousClose = 0;
    }
}
