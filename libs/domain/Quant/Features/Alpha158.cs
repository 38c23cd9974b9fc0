using Platform.Quant.Indicators;

namespace Platform.Quant.Features;

/// <summary>
/// Streaming Alpha158 for one symbol: each <see cref="Update(Bar)"/> consumes the next bar and yields
/// the 158 factors of that bar in Qlib's order, with NaN exactly where Qlib's operators give NaN
/// (rolling windows use min_periods=1, so most factors exist from the first bar; see
/// <see cref="Alpha158Definition"/>). Per bar the cost is O(1) per factor except the rolling
/// quantile/rank window, a sorted array updated with one binary search and a short move.
/// Running sums are kept relative to a shift and recomputed exactly once per window length.
/// </summary>
public sealed class Alpha158 : IFeatureCalculator
{
    private const int Capacity = 64; // power of two above the longest window + 1
    private const int Mask = Capacity - 1;
    private const double Eps = 1e-12;
    private const double FlatStd = 2e-5;

    // Input and derived series of the last 64 bars, indexed by bar number & Mask.
    private readonly double[] _close = new double[Capacity], _high = new double[Capacity], _low = new double[Capacity];
    private readonly double[] _volume = new double[Capacity], _logVolume = new double[Capacity];
    private readonly double[] _closeRatio = new double[Capacity], _volumeRatio = new double[Capacity];
    private readonly double[] _up = new double[Capacity], _down = new double[Capacity];
    private readonly double[] _gain = new double[Capacity], _loss = new double[Capacity], _move = new double[Capacity];
    private readonly double[] _weightedMove = new double[Capacity];
    private readonly double[] _volumeGain = new double[Capacity], _volumeLoss = new double[Capacity], _volumeMove = new double[Capacity];

    // Trailing runs of equal values: pandas reports an exactly zero variance for a constant window.
    private int _runClose, _runVolume, _runLogVolume, _runCloseRatio, _runVolumeRatio, _runWeightedMove;

    private readonly Window[] _windows;
    private long _t = -1;
    private DateTimeOffset? _lastTime;

    public Alpha158()
    {
        _windows = new Window[Alpha158Definition.Windows.Length];
        for (var i = 0; i < _windows.Length; i++) _windows[i] = new Window(this, Alpha158Definition.Windows[i], i);
    }

    public FeatureSet Set => FeatureSets.Alpha158V1;
    public int WarmUpPeriod => Alpha158Definition.WarmUpPeriod;
    public bool IsReady => _t + 1 >= WarmUpPeriod;
    public long Samples => _t + 1;

    public double[] Update(Bar bar)
    {
        var values = new double[Alpha158Definition.Count];
        Update(bar, values);
        return values;
    }

    public void Update(Bar bar, Span<double> values)
    {
        if (values.Length < Alpha158Definition.Count)
            throw new ArgumentException($"Alpha158 needs a destination of {Alpha158Definition.Count} values, got {values.Length}.", nameof(values));
        if (_lastTime is { } last && bar.Time <= last)
            throw new ArgumentException($"alpha158: bar time {bar.Time:o} is not after the previous bar time {last:o}; bars must be strictly time-ordered.", nameof(bar));
        _lastTime = bar.Time;
        var t = ++_t;
        var k = (int)(t & Mask);
        double o = bar.Open, h = bar.High, l = bar.Low, c = bar.Close, v = bar.Volume;

        // Derived series. For the first bar Ref(x, 1) is NaN: differences and ratios are NaN and
        // comparisons false, as in Qlib.
        var first = t == 0;
        var pk = (int)((t - 1) & Mask);
        var prevClose = first ? double.NaN : _close[pk];
        var prevVolume = first ? double.NaN : _volume[pk];
        _close[k] = c;
        _high[k] = h;
        _low[k] = l;
        _volume[k] = v;
        _logVolume[k] = Math.Log(v + 1);
        _closeRatio[k] = c / prevClose;
        _volumeRatio[k] = Math.Log(v / prevVolume + 1);
        _up[k] = c > prevClose ? 1 : 0;
        _down[k] = c < prevClose ? 1 : 0;
        var dc = c - prevClose;
        _gain[k] = first ? double.NaN : Math.Max(dc, 0);
        _loss[k] = first ? double.NaN : Math.Max(-dc, 0);
        _move[k] = Math.Abs(dc);
        _weightedMove[k] = Math.Abs(c / prevClose - 1) * v;
        var dv = v - prevVolume;
        _volumeGain[k] = first ? double.NaN : Math.Max(dv, 0);
        _volumeLoss[k] = first ? double.NaN : Math.Max(-dv, 0);
        _volumeMove[k] = Math.Abs(dv);

        _runClose = Run(_runClose, _close, t);
        _runVolume = Run(_runVolume, _volume, t);
        _runLogVolume = Run(_runLogVolume, _logVolume, t);
        _runCloseRatio = Run(_runCloseRatio, _closeRatio, t);
        _runVolumeRatio = Run(_runVolumeRatio, _volumeRatio, t);
        _runWeightedMove = Run(_runWeightedMove, _weightedMove, t);

        values[0] = (c - o) / o;
        values[1] = (h - l) / o;
        values[2] = (c - o) / (h - l + Eps);
        values[3] = (h - Math.Max(o, c)) / o;
        values[4] = (h - Math.Max(o, c)) / (h - l + Eps);
        values[5] = (Math.Min(o, c) - l) / o;
        values[6] = (Math.Min(o, c) - l) / (h - l + Eps);
        values[7] = (2 * c - h - l) / o;
        values[8] = (2 * c - h - l) / (h - l + Eps);
        values[9] = o / c;
        values[10] = h / c;
        values[11] = l / c;
        values[12] = (bar.Vwap ?? bar.TypicalPrice) / c;

        foreach (var window in _windows) window.Update(t, values);
    }

    private static int Run(int run, double[] series, long t)
    {
        var x = series[t & Mask];
        if (double.IsNaN(x)) return run;
        return run > 0 && t > 0 && series[(t - 1) & Mask] == x ? run + 1 : 1;
    }

    public void Reset()
    {
        _t = -1;
        _lastTime = null;
        _runClose = _runVolume = _runLogVolume = _runCloseRatio = _runVolumeRatio = _runWeightedMove = 0;
        foreach (var window in _windows) window.Clear();
    }


    /// <summary>Sum and sum of squares of the valid values of one series in one window, kept relative to a shift.</summary>
    private struct Moments
    {
        public int Count;
        public double Shift, S1, S2;

        public void Add(double x)
        {
            if (double.IsNaN(x)) return;
            if (Count == 0 && S1 == 0 && S2 == 0) Shift = x;
            var e = x - Shift;
            Count++;
            S1 += e;
            S2 += e * e;
        }

        public void Remove(double x)
        {
            if (double.IsNaN(x)) return;
            var e = x - Shift;
            Count--;
            S1 -= e;
            S2 -= e * e;
        }

        public readonly double Mean => Count == 0 ? double.NaN : Shift + S1 / Count;

        /// <summary>Centred sum of squares; exactly 0 when the trailing run of equal values covers the window.</summary>
        public readonly double Centered(int run) => run >= Count ? 0.0 : Math.Max(0.0, S2 - S1 * S1 / Count);

        public readonly double SampleStd(int run) => Count < 2 ? double.NaN : Math.Sqrt(Centered(run) / (Count - 1));
    }

    /// <summary>Sum of the valid values of a non-negative series, exactly 0 when none of them is positive.</summary>
    private struct PositiveSum
    {
        public int Count, Positive;
        public double Sum;

        public void Add(double x)
        {
            if (double.IsNaN(x)) return;
            Count++;
            if (x > 0) { Positive++; Sum += x; }
        }

        public void Remove(double x)
        {
            if (double.IsNaN(x)) return;
            Count--;
            if (x > 0) { Positive--; Sum -= x; }
        }

        public readonly double Value => Count == 0 ? double.NaN : Positive == 0 ? 0.0 : Sum;
    }

    private sealed class Window
    {
        private readonly Alpha158 _s;
        private readonly int _d;
        private readonly int[] _slot = new int[Alpha158Definition.RollingGroups.Length];
        private readonly MonotonicDeque _maxHigh, _minLow;
        private readonly double[] _sorted;
        private int _sortedCount, _sinceRecompute;

        private Moments _close, _volume, _logVolume, _closeRatio, _volumeRatio, _weightedMove;
        private double _closeIndexSum;      // Σ i·(close − shift), i = 0 for the oldest bar of the window
        private double _closeLogVolume;     // Σ (close − shift)(log volume − shift)
        private double _ratioCross;         // Σ over valid pairs of (close ratio − shift)(volume ratio − shift)
        private int _up, _down;
        private PositiveSum _gain, _loss, _move, _volumeGain, _volumeLoss, _volumeMove;

        public Window(Alpha158 owner, int d, int windowIndex)
        {
            _s = owner;
            _d = d;
            for (var g = 0; g < _slot.Length; g++) _slot[g] = Alpha158Definition.RollingStart + g * Alpha158Definition.Windows.Length + windowIndex;
            // Qlib's IdxMax/IdxMin are numpy argmax/argmin: the first (oldest) extreme wins ties.
            _maxHigh = new MonotonicDeque(d, max: true, preferOldest: true);
            _minLow = new MonotonicDeque(d, max: false, preferOldest: true);
            _sorted = new double[d];
        }

        public void Clear()
        {
            _maxHigh.Clear();
            _minLow.Clear();
            _sortedCount = 0;
            _sinceRecompute = 0;
            _close = _volume = _logVolume = _closeRatio = _volumeRatio = _weightedMove = default;
            _closeIndexSum = _closeLogVolume = _ratioCross = 0;
            _up = _down = 0;
            _gain = _loss = _move = _volumeGain = _volumeLoss = _volumeMove = default;
        }

        public void Update(long t, Span<double> f)
        {
            var s = _s;
            var k = (int)(t & Mask);
            var c = s._close[k];
            var leaving = t - _d;

            if (leaving >= 0)
            {
                var o = (int)(leaving & Mask);
                var oc = s._close[o];
                _close.Remove(oc);
                // Survivors move one step earlier.
                _closeIndexSum -= _close.S1;
                _closeLogVolume -= (oc - _close.Shift) * (s._logVolume[o] - _logVolume.Shift);
                _logVolume.Remove(s._logVolume[o]);
                _volume.Remove(s._volume[o]);
                RemoveRatioPair(s._closeRatio[o], s._volumeRatio[o]);
                _weightedMove.Remove(s._weightedMove[o]);
                _up -= (int)s._up[o];
                _down -= (int)s._down[o];
                _gain.Remove(s._gain[o]);
                _loss.Remove(s._loss[o]);
                _move.Remove(s._move[o]);
                _volumeGain.Remove(s._volumeGain[o]);
                _volumeLoss.Remove(s._volumeLoss[o]);
                _volumeMove.Remove(s._volumeMove[o]);
                SortedRemove(oc);
            }

            _closeIndexSum += _close.Count * (c - (_close.Count == 0 ? c : _close.Shift));
            _close.Add(c);
            _logVolume.Add(s._logVolume[k]);
            _closeLogVolume += (c - _close.Shift) * (s._logVolume[k] - _logVolume.Shift);
            _volume.Add(s._volume[k]);
            AddRatioPair(s._closeRatio[k], s._volumeRatio[k]);
            _weightedMove.Add(s._weightedMove[k]);
            _up += (int)s._up[k];
            _down += (int)s._down[k];
            _gain.Add(s._gain[k]);
            _loss.Add(s._loss[k]);
            _move.Add(s._move[k]);
            _volumeGain.Add(s._volumeGain[k]);
            _volumeLoss.Add(s._volumeLoss[k]);
            _volumeMove.Add(s._volumeMove[k]);
            SortedInsert(c);
            _maxHigh.Add(t, s._high[k]);
            _minLow.Add(t, s._low[k]);

            if (++_sinceRecompute >= _d) Recompute(t);
            Emit(t, f);
        }

        private void AddRatioPair(double x, double y)
        {
            if (double.IsNaN(x) || double.IsNaN(y)) return;
            _closeRatio.Add(x);
            _volumeRatio.Add(y);
            _ratioCross += (x - _closeRatio.Shift) * (y - _volumeRatio.Shift);
        }

        private void RemoveRatioPair(double x, double y)
        {
            if (double.IsNaN(x) || double.IsNaN(y)) return;
            _ratioCross -= (x - _closeRatio.Shift) * (y - _volumeRatio.Shift);
            _closeRatio.Remove(x);
            _volumeRatio.Remove(y);
        }

        /// <summary>Recomputes every running sum exactly from the window, re-centred on the window means.</summary>
        private void Recompute(long t)
        {
            _sinceRecompute = 0;
            var s = _s;
            var from = Math.Max(0, t - _d + 1);
            Rebuild(ref _close, s._close, from, t);
            Rebuild(ref _logVolume, s._logVolume, from, t);
            Rebuild(ref _volume, s._volume, from, t);
            Rebuild(ref _weightedMove, s._weightedMove, from, t);
            _closeRatio = default;
            _volumeRatio = default;
            Moments cr = default, vr = default;
            for (var i = from; i <= t; i++)
            {
                var (x, y) = (s._closeRatio[i & Mask], s._volumeRatio[i & Mask]);
                if (double.IsNaN(x) || double.IsNaN(y)) continue;
                cr.Add(x);
                vr.Add(y);
            }
            cr.Shift = cr.Mean; vr.Shift = vr.Mean;
            if (double.IsNaN(cr.Shift)) cr.Shift = 0;
            if (double.IsNaN(vr.Shift)) vr.Shift = 0;
            cr.Count = vr.Count = 0; cr.S1 = cr.S2 = vr.S1 = vr.S2 = 0;
            _ratioCross = 0;
            _closeIndexSum = 0;
            _closeLogVolume = 0;
            for (var i = from; i <= t; i++)
            {
                var m = (int)(i & Mask);
                var dcl = s._close[m] - _close.Shift;
                _closeIndexSum += (i - from) * dcl;
                _closeLogVolume += dcl * (s._logVolume[m] - _logVolume.Shift);
                var (x, y) = (s._closeRatio[m], s._volumeRatio[m]);
                if (double.IsNaN(x) || double.IsNaN(y)) continue;
                var (ex, ey) = (x - cr.Shift, y - vr.Shift);
                cr.Count++; cr.S1 += ex; cr.S2 += ex * ex;
                vr.Count++; vr.S1 += ey; vr.S2 += ey * ey;
                _ratioCross += ex * ey;
            }
            _closeRatio = cr;
            _volumeRatio = vr;
            _gain = SumOf(s._gain, from, t);
            _loss = SumOf(s._loss, from, t);
            _move = SumOf(s._move, from, t);
            _volumeGain = SumOf(s._volumeGain, from, t);
            _volumeLoss = SumOf(s._volumeLoss, from, t);
            _volumeMove = SumOf(s._volumeMove, from, t);
        }

        private static void Rebuild(ref Moments m, double[] series, long from, long t)
        {
            double sum = 0;
            var count = 0;
            for (var i = from; i <= t; i++)
            {
                var x = series[i & Mask];
                if (double.IsNaN(x)) continue;
                sum += x;
                count++;
            }
            m = new Moments { Shift = count > 0 ? sum / count : 0 };
            for (var i = from; i <= t; i++)
            {
                var x = series[i & Mask];
                if (double.IsNaN(x)) continue;
                var e = x - m.Shift;
                m.Count++;
                m.S1 += e;
                m.S2 += e * e;
            }
        }

        private static PositiveSum SumOf(double[] series, long from, long t)
        {
            var sum = default(PositiveSum);
            for (var i = from; i <= t; i++) sum.Add(series[i & Mask]);
            return sum;
        }

        private void SortedInsert(double x)
        {
            var i = LowerBound(x);
            Array.Copy(_sorted, i, _sorted, i + 1, _sortedCount - i);
            _sorted[i] = x;
            _sortedCount++;
        }

        private void SortedRemove(double x)
        {
            var i = LowerBound(x);
            Array.Copy(_sorted, i + 1, _sorted, i, _sortedCount - i - 1);
            _sortedCount--;
        }

        private int LowerBound(double x)
        {
            int lo = 0, hi = _sortedCount;
            while (lo < hi)
            {
                var mid = (lo + hi) >> 1;
                if (_sorted[mid] < x) lo = mid + 1; else hi = mid;
            }
            return lo;
        }

        private int UpperBound(double x)
        {
            int lo = 0, hi = _sortedCount;
            while (lo < hi)
            {
                var mid = (lo + hi) >> 1;
                if (_sorted[mid] <= x) lo = mid + 1; else hi = mid;
            }
            return lo;
        }

        private double Quantile(double q)
        {
            var position = q * (_sortedCount - 1);
            var lower = (int)position;
            var upper = Math.Min(lower + 1, _sortedCount - 1);
            return _sorted[lower] + (_sorted[upper] - _sorted[lower]) * (position - lower);
        }

        private void Emit(long t, Span<double> f)
        {
            var s = _s;
            var k = (int)(t & Mask);
            var c = s._close[k];
            var v = s._volume[k];
            var n = _close.Count;
            var d = (double)_d;
            var g = 0;

            // ROC
            f[_slot[g++]] = t >= _d ? s._close[(t - _d) & Mask] / c : double.NaN;
            // MA, STD
            var meanClose = _close.Mean;
            var closeStd = _close.SampleStd(s._runClose);
            f[_slot[g++]] = meanClose / c;
            f[_slot[g++]] = closeStd / c;
            // BETA, RSQR, RESI: least squares on 0..n−1 (Qlib's 1..N gives the same line).
            double slope = double.NaN, rsquare = double.NaN, residual = double.NaN;
            if (n >= 2)
            {
                var meanX = (n - 1) / 2.0;
                var sxx = n * ((double)n * n - 1) / 12.0;
                var sxy = _closeIndexSum - meanX * _close.S1;
                var syy = _close.Centered(s._runClose);
                slope = sxy / sxx;
                rsquare = sxy * sxy / (sxx * syy);
                residual = c - meanClose - slope * meanX;
            }
            f[_slot[g++]] = slope / c;
            f[_slot[g++]] = IsFlat(closeStd) ? double.NaN : rsquare;
            f[_slot[g++]] = residual / c;
            // MAX, MIN
            var maxHigh = _maxHigh.Value;
            var minLow = _minLow.Value;
            f[_slot[g++]] = maxHigh / c;
            f[_slot[g++]] = minLow / c;
            // QTLU, QTLD, RANK
            f[_slot[g++]] = Quantile(0.8) / c;
            f[_slot[g++]] = Quantile(0.2) / c;
            var less = LowerBound(c);
            var equal = UpperBound(c) - less;
            f[_slot[g++]] = (less + (equal + 1) / 2.0) / _sortedCount;
            // RSV
            f[_slot[g++]] = (c - minLow) / (maxHigh - minLow + Eps);
            // IMAX, IMIN, IMXD: 1-based positions from the window start.
            var start = Math.Max(0, t - _d + 1);
            var idxMax = (double)(_maxHigh.Position - start + 1);
            var idxMin = (double)(_minLow.Position - start + 1);
            f[_slot[g++]] = idxMax / d;
            f[_slot[g++]] = idxMin / d;
            f[_slot[g++]] = (idxMax - idxMin) / d;
            // CORR(close, log(volume + 1))
            f[_slot[g++]] = Corr(_close, s._runClose, _logVolume, s._runLogVolume, _closeLogVolume);
            // CORD(close ratio, log volume ratio)
            f[_slot[g++]] = Corr(_closeRatio, s._runCloseRatio, _volumeRatio, s._runVolumeRatio, _ratioCross);
            // CNTP, CNTN, CNTD
            var cntp = _up / (double)n;
            var cntn = _down / (double)n;
            f[_slot[g++]] = cntp;
            f[_slot[g++]] = cntn;
            f[_slot[g++]] = cntp - cntn;
            // SUMP, SUMN, SUMD
            var gain = _gain.Value;
            var loss = _loss.Value;
            var move = _move.Value + Eps;
            f[_slot[g++]] = gain / move;
            f[_slot[g++]] = loss / move;
            f[_slot[g++]] = (gain - loss) / move;
            // VMA, VSTD
            f[_slot[g++]] = _volume.Mean / (v + Eps);
            f[_slot[g++]] = _volume.SampleStd(s._runVolume) / (v + Eps);
            // WVMA
            f[_slot[g++]] = _weightedMove.SampleStd(s._runWeightedMove) / (_weightedMove.Mean + Eps);
            // VSUMP, VSUMN, VSUMD
            var volumeGain = _volumeGain.Value;
            var volumeLoss = _volumeLoss.Value;
            var volumeMove = _volumeMove.Value + Eps;
            f[_slot[g++]] = volumeGain / volumeMove;
            f[_slot[g++]] = volumeLoss / volumeMove;
            f[_slot[g]] = (volumeGain - volumeLoss) / volumeMove;
        }

        private static bool IsFlat(double std) => !double.IsNaN(std) && Math.Abs(std) <= FlatStd;

        private static double Corr(in Moments x, int runX, in Moments y, int runY, double cross)
        {
            var n = x.Count;
            if (n < 2) return double.NaN;
            if (IsFlat(x.SampleStd(runX)) || IsFlat(y.SampleStd(runY))) return double.NaN;
            var sxy = cross - x.S1 * y.S1 / n;
            return sxy / Math.Sqrt(x.Centered(runX) * y.Centered(runY));
        }
    }
}
