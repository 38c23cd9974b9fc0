namespace Platform.Quant.Indicators;

/// <summary>Simple moving average of the last <c>period</c> values.</summary>
public sealed class SimpleMovingAverage : ScalarIndicator
{
    private readonly RollingMoments _moments;

    public SimpleMovingAverage(int period) : base($"sma_{period}", Guard.Period(period)) => _moments = new RollingMoments(period);

    public int Period => _moments.Period;

    protected override double ComputeNext(double value)
    {
        _moments.Add(value);
        return _moments.Mean;
    }

    protected override void OnReset() => _moments.Clear();
}

/// <summary>
/// Exponential moving average with k = 2 / (period + 1). Convention (TA-Lib's default, not
/// pandas' ewm): the first value is the simple average of the first <c>period</c> values, and
/// nothing is published before that.
/// </summary>
public sealed class ExponentialMovingAverage : ScalarIndicator
{
    private readonly double _k;
    private double _sum, _ema;

    public ExponentialMovingAverage(int period) : base($"ema_{period}", Guard.Period(period))
    {
        Period = period;
        _k = 2.0 / (period + 1);
    }

    public int Period { get; }

    protected override double ComputeNext(double value)
    {
        if (Samples < Period)
        {
            _sum += value;
            return double.NaN;
        }
        // Same operation order as TA-Lib: ((x - prev) * k) + prev.
        _ema = Samples == Period ? (_sum + value) / Period : (value - _ema) * _k + _ema;
        return _ema;
    }

    protected override void OnReset() => _sum = _ema = 0;
}

/// <summary>Linearly weighted moving average: weights 1..period, the newest value weighs most (TA-Lib WMA).</summary>
public sealed class WeightedMovingAverage : ScalarIndicator
{
    private readonly RingBuffer<double> _window;
    private readonly double _divisor;
    private double _sum, _weighted;
    private int _sinceRecompute;

    public WeightedMovingAverage(int period) : base($"wma_{period}", Guard.Period(period))
    {
        _window = new RingBuffer<double>(period);
        _divisor = period * (period + 1) / 2.0;
    }

    public int Period => _window.Capacity;

    protected override double ComputeNext(double value)
    {
        // Sliding by one lowers every weight by one: weighted -= sum of the old window, then the
        // new value enters with weight period. Exact recomputation every period updates keeps the
        // running sums from drifting.
        if (_window.Add(value, out var old))
        {
            _weighted -= _sum;
            _sum -= old;
        }
        _sum += value;
        _weighted += _window.Count * value;
        if (++_sinceRecompute >= Period && _window.IsFull)
        {
            _sinceRecompute = 0;
            double s = 0, w = 0;
            for (var i = 0; i < Period; i++)
            {
                s += _window[i];
                w += (i + 1) * _window[i];
            }
            _sum = s;
            _weighted = w;
        }
        return _weighted / _divisor;
    }

    protected override void OnReset()
    {
        _window.Clear();
        _sum = _weighted = 0;
        _sinceRecompute = 0;
    }
}

/// <summary>
/// Double EMA: 2·EMA(x) − EMA(EMA(x)). The inner EMA is seeded by the SMA of the first
/// <c>period</c> outer EMA values (TA-Lib), so the first value needs 2·(period − 1) + 1 samples.
/// </summary>
public sealed class DoubleExponentialMovingAverage : ScalarIndicator
{
    private readonly ExponentialMovingAverage _ema1, _ema2;

    public DoubleExponentialMovingAverage(int period) : base($"dema_{period}", 2 * (Guard.Period(period) - 1) + 1)
    {
        _ema1 = new ExponentialMovingAverage(period);
        _ema2 = new ExponentialMovingAverage(period);
    }

    protected override double ComputeNext(double value)
    {
        var time = Time!.Value;
        var e1 = _ema1.Update(time, value);
        if (!_ema1.IsReady) return double.NaN;
        var e2 = _ema2.Update(time, e1);
        return 2.0 * e1 - e2;
    }

    protected override void OnReset()
    {
        _ema1.Reset();
        _ema2.Reset();
    }
}

/// <summary>Triple EMA: 3·E1 − 3·E2 + E3 with each EMA seeded by an SMA (TA-Lib); first value after 3·(period − 1) + 1 samples.</summary>
public sealed class TripleExponentialMovingAverage : ScalarIndicator
{
    private readonly ExponentialMovingAverage _ema1, _ema2, _ema3;

    public TripleExponentialMovingAverage(int period) : base($"tema_{period}", 3 * (Guard.Period(period) - 1) + 1)
    {
        _ema1 = new ExponentialMovingAverage(period);
        _ema2 = new ExponentialMovingAverage(period);
        _ema3 = new ExponentialMovingAverage(period);
    }

    protected override double ComputeNext(double value)
    {
        var time = Time!.Value;
        var e1 = _ema1.Update(time, value);
        if (!_ema1.IsReady) return double.NaN;
        var e2 = _ema2.Update(time, e1);
        if (!_ema2.IsReady) return double.NaN;
        var e3 = _ema3.Update(time, e2);
        return 3.0 * e1 - 3.0 * e2 + e3;
    }

    protected override void OnReset()
    {
        _ema1.Reset();
        _ema2.Reset();
        _ema3.Reset();
    }
}

internal static class Guard
{
    public static int Period(int period, int minimum = 1) =>
        period >= minimum ? period : throw new ArgumentOutOfRangeException(nameof(period), period, $"Period must be at least {minimum}.");
}
