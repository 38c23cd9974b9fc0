namespace Platform.Quant.Indicators;

/// <summary>
/// Rolling extreme over the last <c>period</c> values (monotonic deque, O(1) amortised), with the position of the
/// extreme as bars ago (0 = newest). Ties resolve to the most recent value.
/// </summary>
public abstract class RollingExtreme : ScalarIndicator
{
    private readonly MonotonicDeque _deque;

    protected RollingExtreme(string name, int period, bool max) : base(name, Guard.Period(period)) =>
        _deque = new MonotonicDeque(period, max);

    /// <summary>Bars since the extreme (TA-Lib MAXINDEX/MININDEX give the absolute index instead).</summary>
    public double BarsAgo { get; private set; } = double.NaN;

    protected override double ComputeNext(double value)
    {
        _deque.Add(Samples, value);
        BarsAgo = WhenReady(Samples - _deque.Position);
        return _deque.Value;
    }

    protected override void OnReset()
    {
        _deque.Clear();
        BarsAgo = double.NaN;
    }
}

/// <summary>Rolling maximum with the position of the maximum as bars ago; see <see cref="RollingExtreme"/>.</summary>
public sealed class Maximum(int period) : RollingExtreme($"max_{period}", period, max: true);

/// <summary>Rolling minimum with the position of the minimum as bars ago; see <see cref="RollingExtreme"/>.</summary>
public sealed class Minimum(int period) : RollingExtreme($"min_{period}", period, max: false);

/// <summary>
/// Rolling Pearson correlation of two series over <c>period</c> pairs. Fed with bars it correlates
/// the close with the volume unless other selectors are given. Like TA-Lib's CORREL it returns 0
/// when either series is flat over the window. Sums are kept relative to a shift and recomputed
/// exactly every <c>period</c> updates.
/// </summary>
public sealed class Correlation : IndicatorBase, IBarIndicator
{
    private readonly RingBuffer<(double X, double Y)> _window;
    private readonly Func<Bar, double> _x, _y;
    private double _kx, _ky, _sx, _sy, _sxx, _syy, _sxy;
    private int _sinceRecompute;

    public Correlation(int period, Func<Bar, double>? x = null, Func<Bar, double>? y = null, string? name = null)
        : base(name ?? $"corr_{period}", Guard.Period(period, 2))
    {
        _window = new RingBuffer<(double, double)>(period);
        _x = x ?? (b => b.Close);
        _y = y ?? (b => b.Volume);
    }

    public double Update(Bar bar) => Update(bar.Time, _x(bar), _y(bar));

    public double Update(DateTimeOffset time, double x, double y)
    {
        Advance(time);
        if (_window.Count == 0) (_kx, _ky) = (x, y);
        if (_window.Add((x, y), out var old))
        {
            var (dx, dy) = (old.X - _kx, old.Y - _ky);
            _sx -= dx; _sy -= dy; _sxx -= dx * dx; _syy -= dy * dy; _sxy -= dx * dy;
        }
        var (ex, ey) = (x - _kx, y - _ky);
        _sx += ex; _sy += ey; _sxx += ex * ex; _syy += ey * ey; _sxy += ex * ey;
        if (++_sinceRecompute >= _window.Capacity && _window.IsFull) Recompute();

        var n = _window.Count;
        var varProduct = (_sxx - _sx * _sx / n) * (_syy - _sy * _sy / n);
        var r = TaLib.IsZeroOrNegative(varProduct) ? 0.0 : (_sxy - _sx * _sy / n) / Math.Sqrt(varProduct);
        return Publish(r);
    }

    private void Recompute()
    {
        _sinceRecompute = 0;
        double mx = 0, my = 0;
        for (var i = 0; i < _window.Count; i++) { mx += _window[i].X; my += _window[i].Y; }
        _kx = mx / _window.Count;
        _ky = my / _window.Count;
        _sx = _sy = _sxx = _syy = _sxy = 0;
        for (var i = 0; i < _window.Count; i++)
        {
            var (dx, dy) = (_window[i].X - _kx, _window[i].Y - _ky);
            _sx += dx; _sy += dy; _sxx += dx * dx; _syy += dy * dy; _sxy += dx * dy;
        }
    }

    protected override void OnReset()
    {
        _window.Clear();
        _kx = _ky = _sx = _sy = _sxx = _syy = _sxy = 0;
        _sinceRecompute = 0;
    }
}

/// <summary>
/// Least-squares line through the last <c>period</c> values against time steps 0..period − 1.
/// <see cref="IIndicator.Current"/> is the slope per step (TA-Lib LINEARREG_SLOPE); also the fitted
/// value at the newest step (TA-Lib LINEARREG), the newest value's residual (value − fitted) and
/// R² (NaN for a flat window). O(1) per update with sums recomputed exactly every period updates.
/// </summary>
public sealed class LinearRegression : ScalarIndicator
{
    private readonly RingBuffer<double> _window;
    private double _shift, _sy, _syy, _sxy;
    private int _sinceRecompute;

    public LinearRegression(int period) : base($"linreg_{period}", Guard.Period(period, 2)) => _window = new RingBuffer<double>(period);

    public double Fitted { get; private set; } = double.NaN;
    public double Residual { get; private set; } = double.NaN;
    public double RSquared { get; private set; } = double.NaN;

    protected override double ComputeNext(double value)
    {
        if (_window.Count == 0) _shift = value;
        var e = value - _shift;
        if (_window.Add(value, out var old))
        {
            // Every remaining value moves one step earlier: Σ i·y drops by the sum of the survivors.
            var d = old - _shift;
            _sy -= d;
            _syy -= d * d;
            _sxy -= _sy;
            _sxy += (_window.Count - 1) * e;
        }
        else
        {
            _sxy += (_window.Count - 1) * e;
        }
        _sy += e;
        _syy += e * e;
        if (++_sinceRecompute >= _window.Capacity && _window.IsFull) Recompute();

        var n = _window.Count;
        if (n < 2) return double.NaN;
        var meanX = (n - 1) / 2.0;
        var sxxCentered = n * ((double)n * n - 1) / 12.0;
        var sxyCentered = _sxy - meanX * _sy;
        var syyCentered = _syy - _sy * _sy / n;
        var slope = sxyCentered / sxxCentered;
        var meanY = _shift + _sy / n;
        var fitted = meanY + slope * (n - 1 - meanX);
        Fitted = WhenReady(fitted);
        Residual = WhenReady(value - fitted);
        RSquared = WhenReady(syyCentered > 0 ? Math.Min(1.0, sxyCentered * sxyCentered / (sxxCentered * syyCentered)) : double.NaN);
        return slope;
    }

    private void Recompute()
    {
        _sinceRecompute = 0;
        double sum = 0;
        for (var i = 0; i < _window.Count; i++) sum += _window[i];
        _shift = sum / _window.Count;
        _sy = _syy = _sxy = 0;
        for (var i = 0; i < _window.Count; i++)
        {
            var d = _window[i] - _shift;
            _sy += d;
            _syy += d * d;
            _sxy += i * d;
        }
    }

    protected override void OnReset()
    {
        _window.Clear();
        _shift = _sy = _syy = _sxy = 0;
        _sinceRecompute = 0;
        Fitted = Residual = RSquared = double.NaN;
    }
}
