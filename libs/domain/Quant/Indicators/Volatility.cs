namespace Platform.Quant.Indicators;

/// <summary>
/// Rolling standard deviation of the last <c>period</c> values. Convention: population deviation
/// (divide by n), as TA-Lib's STDDEV and Bollinger Bands use; pass <c>sample: true</c> for the
/// n − 1 estimator pandas uses.
/// </summary>
public sealed class StandardDeviation : ScalarIndicator
{
    private readonly RollingMoments _moments;
    private readonly bool _sample;

    public StandardDeviation(int period, bool sample = false)
        : base(sample ? $"std_sample_{period}" : $"std_{period}", Guard.Period(period, sample ? 2 : 1))
    {
        _moments = new RollingMoments(period);
        _sample = sample;
    }

    public double Mean => WhenReady(_moments.Mean);

    protected override double ComputeNext(double value)
    {
        _moments.Add(value);
        return Math.Sqrt(_sample ? _moments.SampleVariance : _moments.PopulationVariance);
    }

    protected override void OnReset() => _moments.Clear();
}

/// <summary>Z-score of the newest value in its window: (x − mean) / population std; NaN for a flat window.</summary>
public sealed class ZScore : ScalarIndicator
{
    private readonly RollingMoments _moments;

    public ZScore(int period) : base($"zscore_{period}", Guard.Period(period, 2)) => _moments = new RollingMoments(period);

    protected override double ComputeNext(double value)
    {
        _moments.Add(value);
        var std = Math.Sqrt(_moments.PopulationVariance);
        return std > 0 ? (value - _moments.Mean) / std : double.NaN;
    }

    protected override void OnReset() => _moments.Clear();
}

/// <summary>
/// Bollinger Bands (TA-Lib BBANDS with an SMA middle): middle = SMA(period), bands = middle ±
/// k·σ with σ the population standard deviation. Also %B = (close − lower) / (upper − lower) and
/// bandwidth = (upper − lower) / middle (NaN when the denominator is zero).
/// <see cref="IIndicator.Current"/> is the middle band.
/// </summary>
public sealed class BollingerBands : ScalarIndicator
{
    private readonly RollingMoments _moments;
    private readonly double _k;

    public BollingerBands(int period = 20, double k = 2.0) : base($"bb_{period}_{k:0.##}", Guard.Period(period))
    {
        _moments = new RollingMoments(period);
        _k = k;
    }

    public double Upper { get; private set; } = double.NaN;
    public double Lower { get; private set; } = double.NaN;
    public double PercentB { get; private set; } = double.NaN;
    public double Bandwidth { get; private set; } = double.NaN;

    protected override double ComputeNext(double value)
    {
        _moments.Add(value);
        var middle = _moments.Mean;
        var width = _k * Math.Sqrt(_moments.PopulationVariance);
        var upper = middle + width;
        var lower = middle - width;
        var range = upper - lower;
        Upper = WhenReady(upper);
        Lower = WhenReady(lower);
        PercentB = WhenReady(range != 0 ? (value - lower) / range : double.NaN);
        Bandwidth = WhenReady(middle != 0 ? range / middle : double.NaN);
        return middle;
    }

    protected override void OnReset()
    {
        _moments.Clear();
        Upper = Lower = PercentB = Bandwidth = double.NaN;
    }
}

/// <summary>True range: max(high, previous close) − min(low, previous close); undefined on the first bar (TA-Lib TRANGE).</summary>
public sealed class TrueRange : BarIndicator
{
    private double _previousClose;

    public TrueRange() : base("trange", 2) { }

    internal static double Of(in Bar bar, double previousClose)
    {
        // Same comparisons as TA-Lib's TRUE_RANGE macro.
        var range = bar.High - bar.Low;
        var up = Math.Abs(bar.High - previousClose);
        if (up > range) range = up;
        var down = Math.Abs(bar.Low - previousClose);
        if (down > range) range = down;
        return range;
    }

    protected override double ComputeNext(in Bar bar)
    {
        var value = Samples == 1 ? double.NaN : Of(bar, _previousClose);
        _previousClose = bar.Close;
        return value;
    }

    protected override void OnReset() => _previousClose = 0;
}

/// <summary>
/// Average true range with Wilder smoothing (TA-Lib): the first value is the mean of the first
/// <c>period</c> true ranges (bars 2..period + 1), then atr = (atr·(period − 1) + tr) / period.
/// </summary>
public sealed class AverageTrueRange : BarIndicator
{
    private readonly TrueRange _trueRange = new();
    private double _atr;

    public AverageTrueRange(int period = 14) : base($"atr_{period}", Guard.Period(period) + 1) => Period = period;

    public int Period { get; }

    protected override double ComputeNext(in Bar bar)
    {
        var tr = _trueRange.Update(bar);
        if (Samples == 1) return double.NaN;
        if (Samples <= Period + 1)
        {
            _atr += tr;
            if (Samples < Period + 1) return double.NaN;
            _atr /= Period;
            return _atr;
        }
        _atr = (_atr * (Period - 1) + tr) / Period;
        return _atr;
    }

    protected override void OnReset()
    {
        _trueRange.Reset();
        _atr = 0;
    }
}

/// <summary>Normalised ATR in percent of the close (TA-Lib NATR): 100·ATR / close, 0 for a zero close.</summary>
public sealed class NormalizedAverageTrueRange : BarIndicator
{
    private readonly AverageTrueRange _atr;

    public NormalizedAverageTrueRange(int period = 14) : base($"natr_{period}", Guard.Period(period) + 1) => _atr = new AverageTrueRange(period);

    protected override double ComputeNext(in Bar bar)
    {
        var atr = _atr.Update(bar);
        return TaLib.IsZero(bar.Close) ? 0.0 : atr / bar.Close * 100.0;
    }

    protected override void OnReset() => _atr.Reset();
}

/// <summary>
/// Average directional index with +DI and −DI, Wilder's definitions as coded by TA-Lib:
/// +DM/−DM/TR are summed over the first period − 1 moves, then smoothed with s = s − s/period + x
/// (Wilder's running sum); DI = 100·DM/TR from bar period + 1; DX = 100·|+DI − −DI| / (+DI + −DI);
/// ADX starts as the mean of the first <c>period</c> DX values and is then Wilder-smoothed:
/// adx = (adx·(period − 1) + dx) / period. ADX needs 2·period samples, the DIs period + 1.
/// </summary>
public sealed class AverageDirectionalIndex : BarIndicator
{
    private double _prevHigh, _prevLow, _prevClose;
    private double _plusDm, _minusDm, _tr, _sumDx, _adx;

    public AverageDirectionalIndex(int period = 14) : base($"adx_{period}", 2 * Guard.Period(period, 2)) => Period = period;

    public int Period { get; }
    public double PlusDI { get; private set; } = double.NaN;
    public double MinusDI { get; private set; } = double.NaN;

    protected override double ComputeNext(in Bar bar)
    {
        if (Samples == 1)
        {
            (_prevHigh, _prevLow, _prevClose) = (bar.High, bar.Low, bar.Close);
            return double.NaN;
        }
        var diffP = bar.High - _prevHigh;
        var diffM = _prevLow - bar.Low;
        var plus = diffP > 0 && diffP > diffM ? diffP : 0.0;
        var minus = diffM > 0 && diffP < diffM ? diffM : 0.0;
        var tr = TrueRange.Of(bar, _prevClose);
        (_prevHigh, _prevLow, _prevClose) = (bar.High, bar.Low, bar.Close);

        if (Samples <= Period)
        {
            _plusDm += plus;
            _minusDm += minus;
            _tr += tr;
            return double.NaN;
        }
        _plusDm = _plusDm - _plusDm / Period + plus;
        _minusDm = _minusDm - _minusDm / Period + minus;
        _tr = _tr - _tr / Period + tr;

        double dx = double.NaN;
        if (!TaLib.IsZero(_tr))
        {
            var minusDi = 100.0 * (_minusDm / _tr);
            var plusDi = 100.0 * (_plusDm / _tr);
            PlusDI = plusDi;
            MinusDI = minusDi;
            var sum = minusDi + plusDi;
            if (!TaLib.IsZero(sum)) dx = 100.0 * (Math.Abs(minusDi - plusDi) / sum);
        }
        else
        {
            PlusDI = MinusDI = 0.0;
        }

        // TA-Lib: a DX that cannot be computed adds nothing to the seed and leaves the ADX unchanged.
        if (Samples <= 2 * Period)
        {
            if (!double.IsNaN(dx)) _sumDx += dx;
            if (Samples < 2 * Period) return double.NaN;
            _adx = _sumDx / Period;
            return _adx;
        }
        if (!double.IsNaN(dx)) _adx = (_adx * (Period - 1) + dx) / Period;
        return _adx;
    }

    protected override void OnReset()
    {
        _prevHigh = _prevLow = _prevClose = 0;
        _plusDm = _minusDm = _tr = _sumDx = _adx = 0;
        PlusDI = MinusDI = double.NaN;
    }
}
