namespace Platform.Quant.Indicators;

/// <summary>
/// Relative strength index with Wilder smoothing (TA-Lib): the first average gain/loss is the plain
/// mean of the first <c>period</c> changes, then avg = (avg·(period − 1) + x) / period. The first
/// value needs period + 1 samples. Zero total movement gives 0, as in TA-Lib.
/// </summary>
public sealed class RelativeStrengthIndex : ScalarIndicator
{
    private double _previous, _gain, _loss;

    public RelativeStrengthIndex(int period) : base($"rsi_{period}", Guard.Period(period) + 1) => Period = period;

    public int Period { get; }

    protected override double ComputeNext(double value)
    {
        if (Samples == 1)
        {
            _previous = value;
            return double.NaN;
        }
        var change = value - _previous;
        _previous = value;
        if (Samples <= Period + 1)
        {
            if (change < 0) _loss -= change; else _gain += change;
            if (Samples < Period + 1) return double.NaN;
            _gain /= Period;
            _loss /= Period;
        }
        else
        {
            _loss *= Period - 1;
            _gain *= Period - 1;
            if (change < 0) _loss -= change; else _gain += change;
            _loss /= Period;
            _gain /= Period;
        }
        var total = _gain + _loss;
        return TaLib.IsZero(total) ? 0.0 : 100.0 * (_gain / total);
    }

    protected override void OnReset() => _previous = _gain = _loss = 0;
}

/// <summary>
/// MACD: EMA(fast) − EMA(slow), its EMA(signal) and the histogram (line − signal). Convention
/// (TA-Lib): both EMAs start at the same bar, so the fast EMA is seeded with the SMA of the
/// <c>fast</c> values ending where the slow EMA's first value is; the signal EMA is seeded with the
/// SMA of the first <c>signal</c> MACD values. Everything is published from bar slow + signal − 1.
/// </summary>
public sealed class MovingAverageConvergenceDivergence : ScalarIndicator
{
    private readonly ExponentialMovingAverage _fast, _slow, _signal;
    private readonly int _fastStart;

    public MovingAverageConvergenceDivergence(int fast = 12, int slow = 26, int signal = 9)
        : base($"macd_{fast}_{slow}_{signal}", Guard.Period(Math.Max(fast, slow), 2) + Guard.Period(signal) - 1)
    {
        // TA-Lib swaps the periods when fast > slow.
        if (fast > slow) (fast, slow) = (slow, fast);
        _fast = new ExponentialMovingAverage(fast);
        _slow = new ExponentialMovingAverage(slow);
        _signal = new ExponentialMovingAverage(signal);
        _fastStart = slow - fast;
    }

    public double Signal { get; private set; } = double.NaN;
    public double Histogram { get; private set; } = double.NaN;

    protected override double ComputeNext(double value)
    {
        var time = Time!.Value;
        var slow = _slow.Update(time, value);
        var fast = Samples > _fastStart ? _fast.Update(time, value) : double.NaN;
        if (!_slow.IsReady)
        {
            Signal = Histogram = double.NaN;
            return double.NaN;
        }
        var line = fast - slow;
        var signal = _signal.Update(time, line);
        Signal = WhenReady(signal);
        Histogram = WhenReady(line - signal);
        return line;
    }

    protected override void OnReset()
    {
        _fast.Reset();
        _slow.Reset();
        _signal.Reset();
        Signal = Histogram = double.NaN;
    }
}

/// <summary>
/// Slow stochastic oscillator (TA-Lib STOCH with SMA smoothing): fast %K = 100·(close − lowest low)
/// / (highest high − lowest low) over <c>kPeriod</c> bars (0 when the range is zero), %K = SMA(fast
/// %K, kSmoothing), %D = SMA(%K, dPeriod). <see cref="IIndicator.Current"/> is %K.
/// </summary>
public sealed class Stochastic : BarIndicator
{
    private readonly MonotonicDeque _highest, _lowest;
    private readonly SimpleMovingAverage _k, _d;

    public Stochastic(int kPeriod = 14, int kSmoothing = 3, int dPeriod = 3)
        : base($"stoch_{kPeriod}_{kSmoothing}_{dPeriod}", Guard.Period(kPeriod) + Guard.Period(kSmoothing) + Guard.Period(dPeriod) - 2)
    {
        _highest = new MonotonicDeque(kPeriod, max: true);
        _lowest = new MonotonicDeque(kPeriod, max: false);
        _k = new SimpleMovingAverage(kSmoothing);
        _d = new SimpleMovingAverage(dPeriod);
        KPeriod = kPeriod;
    }

    public int KPeriod { get; }
    public double D { get; private set; } = double.NaN;

    protected override double ComputeNext(in Bar bar)
    {
        _highest.Add(Samples, bar.High);
        _lowest.Add(Samples, bar.Low);
        if (Samples < KPeriod) return double.NaN;
        var lowest = _lowest.Value;
        // TA-Lib divides by (range / 100) rather than multiplying by 100: same value, same rounding.
        var diff = (_highest.Value - lowest) / 100.0;
        var fastK = diff != 0.0 ? (bar.Close - lowest) / diff : 0.0;
        var k = _k.Update(bar.Time, fastK);
        if (!_k.IsReady) return double.NaN;
        D = WhenReady(_d.Update(bar.Time, k));
        return k;
    }

    protected override void OnReset()
    {
        _highest.Clear();
        _lowest.Clear();
        _k.Reset();
        _d.Reset();
        D = double.NaN;
    }
}

/// <summary>
/// Commodity channel index (TA-Lib): (TP − SMA(TP)) / (0.015 · mean absolute deviation of TP),
/// TP = (high + low + close) / 3; 0 when either term is zero. The mean deviation needs the whole
/// window, so an update is O(period).
/// </summary>
public sealed class CommodityChannelIndex : BarIndicator
{
    private readonly RollingMoments _tp;

    public CommodityChannelIndex(int period = 20) : base($"cci_{period}", Guard.Period(period)) => _tp = new RollingMoments(period);

    protected override double ComputeNext(in Bar bar)
    {
        var tp = (bar.High + bar.Low + bar.Close) / 3.0;
        _tp.Add(tp);
        if (!_tp.IsFull) return double.NaN;
        var mean = _tp.Mean;
        var window = _tp.Window;
        double deviation = 0;
        for (var i = 0; i < window.Count; i++) deviation += Math.Abs(window[i] - mean);
        deviation /= window.Count;
        var distance = tp - mean;
        return distance != 0.0 && deviation != 0.0 ? distance / (0.015 * deviation) : 0.0;
    }

    protected override void OnReset() => _tp.Clear();
}

/// <summary>Williams %R (TA-Lib): −100·(highest high − close) / (highest high − lowest low) over <c>period</c> bars; 0 for a zero range.</summary>
public sealed class WilliamsPercentR : BarIndicator
{
    private readonly MonotonicDeque _highest, _lowest;

    public WilliamsPercentR(int period = 14) : base($"willr_{period}", Guard.Period(period))
    {
        _highest = new MonotonicDeque(period, max: true);
        _lowest = new MonotonicDeque(period, max: false);
    }

    protected override double ComputeNext(in Bar bar)
    {
        _highest.Add(Samples, bar.High);
        _lowest.Add(Samples, bar.Low);
        var highest = _highest.Value;
        var diff = (highest - _lowest.Value) / -100.0;
        return diff != 0.0 ? (highest - bar.Close) / diff : 0.0;
    }

    protected override void OnReset()
    {
        _highest.Clear();
        _lowest.Clear();
    }
}

/// <summary>
/// Money flow index (TA-Lib): typical price × volume counted as positive when the typical price
/// rose, negative when it fell, nothing when unchanged; MFI = 100·positive / (positive + negative)
/// over the last <c>period</c> flows, and 0 when that total is below 1 (TA-Lib's guard).
/// </summary>
public sealed class MoneyFlowIndex : BarIndicator
{
    private readonly RingBuffer<(double Positive, double Negative)> _flows;
    private double _previousTypical, _positive, _negative;
    private int _sinceRecompute;

    public MoneyFlowIndex(int period = 14) : base($"mfi_{period}", Guard.Period(period) + 1) =>
        _flows = new RingBuffer<(double, double)>(period);

    protected override double ComputeNext(in Bar bar)
    {
        var typical = (bar.High + bar.Low + bar.Close) / 3.0;
        if (Samples == 1)
        {
            _previousTypical = typical;
            return double.NaN;
        }
        var flow = typical * bar.Volume;
        var change = typical - _previousTypical;
        _previousTypical = typical;
        var entry = change > 0 ? (flow, 0.0) : change < 0 ? (0.0, flow) : (0.0, 0.0);
        if (_flows.Add(entry, out var old))
        {
            _positive -= old.Positive;
            _negative -= old.Negative;
        }
        _positive += entry.Item1;
        _negative += entry.Item2;
        if (++_sinceRecompute >= _flows.Capacity && _flows.IsFull)
        {
            _sinceRecompute = 0;
            double p = 0, n = 0;
            for (var i = 0; i < _flows.Count; i++)
            {
                p += _flows[i].Positive;
                n += _flows[i].Negative;
            }
            _positive = p;
            _negative = n;
        }
        if (!_flows.IsFull) return double.NaN;
        var total = _positive + _negative;
        return total < 1.0 ? 0.0 : 100.0 * (_positive / total);
    }

    protected override void OnReset()
    {
        _flows.Clear();
        _previousTypical = _positive = _negative = 0;
        _sinceRecompute = 0;
    }
}

/// <summary>Rate of change in percent (TA-Lib ROC): 100·(x / x[period ago] − 1); 0 when the old value is 0.</summary>
public sealed class RateOfChange : ScalarIndicator
{
    private readonly RingBuffer<double> _window;

    public RateOfChange(int period = 10) : base($"roc_{period}", Guard.Period(period) + 1) => _window = new RingBuffer<double>(period + 1);

    protected override double ComputeNext(double value)
    {
        _window.Add(value);
        if (!_window.IsFull) return double.NaN;
        var old = _window.Oldest;
        return old != 0.0 ? (value / old - 1.0) * 100.0 : 0.0;
    }

    protected override void OnReset() => _window.Clear();
}

/// <summary>Momentum (TA-Lib MOM): x − x[period ago].</summary>
public sealed class Momentum : ScalarIndicator
{
    private readonly RingBuffer<double> _window;

    public Momentum(int period = 10) : base($"mom_{period}", Guard.Period(period) + 1) => _window = new RingBuffer<double>(period + 1);

    protected override double ComputeNext(double value)
    {
        _window.Add(value);
        return _window.IsFull ? value - _window.Oldest : double.NaN;
    }

    protected override void OnReset() => _window.Clear();
}

/// <summary>
/// On-balance volume. Convention (TA-Lib): the series starts at the first bar's volume, then adds
/// the volume on an up close, subtracts it on a down close and is unchanged on an equal close.
/// </summary>
public sealed class OnBalanceVolume : BarIndicator
{
    private double _obv, _previousClose;

    public OnBalanceVolume() : base("obv", 1) { }

    protected override double ComputeNext(in Bar bar)
    {
        if (Samples == 1) _obv = bar.Volume;
        else if (bar.Close > _previousClose) _obv += bar.Volume;
        else if (bar.Close < _previousClose) _obv -= bar.Volume;
        _previousClose = bar.Close;
        return _obv;
    }

    protected override void OnReset() => _obv = _previousClose = 0;
}
