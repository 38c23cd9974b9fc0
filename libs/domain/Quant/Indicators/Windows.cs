namespace Platform.Quant.Indicators;

/// <summary>Fixed-capacity FIFO of the last values; index 0 is the oldest.</summary>
public sealed class RingBuffer<T>
{
    private readonly T[] _items;
    private int _start;

    public RingBuffer(int capacity)
    {
        if (capacity < 1) throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "Capacity must be at least 1.");
        _items = new T[capacity];
    }

    public int Capacity => _items.Length;
    public int Count { get; private set; }
    public bool IsFull => Count == _items.Length;

    /// <summary>The i-th value from the oldest (0) to the newest (Count - 1).</summary>
    public T this[int i]
    {
        get
        {
            if ((uint)i >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(i));
            var k = _start + i;
            return _items[k >= _items.Length ? k - _items.Length : k];
        }
    }

    public T Newest => this[Count - 1];
    public T Oldest => this[0];

    /// <summary>Appends <paramref name="item"/>; when full, the oldest value is dropped and returned in <paramref name="evicted"/>.</summary>
    public bool Add(T item, out T evicted)
    {
        if (Count < _items.Length)
        {
            var k = _start + Count;
            _items[k >= _items.Length ? k - _items.Length : k] = item;
            Count++;
            evicted = default!;
            return false;
        }
        evicted = _items[_start];
        _items[_start] = item;
        _start = _start + 1 == _items.Length ? 0 : _start + 1;
        return true;
    }

    public void Add(T item) => Add(item, out _);

    public void Clear()
    {
        Array.Clear(_items);
        _start = 0;
        Count = 0;
    }
}

/// <summary>
/// Sum and sum of squares over the last <c>period</c> values in O(1) per update. Values are stored
/// relative to a shift (the window mean at the last recomputation) to avoid cancellation in the
/// variance, and the sums are recomputed exactly from the window every <c>period</c> updates, so
/// rounding error cannot accumulate however long the stream runs.
/// </summary>
public sealed class RollingMoments
{
    private readonly RingBuffer<double> _window;
    private double _shift, _s1, _s2;
    private int _sinceRecompute;

    public RollingMoments(int period) => _window = new RingBuffer<double>(period);

    public int Period => _window.Capacity;
    public int Count => _window.Count;
    public bool IsFull => _window.IsFull;
    public RingBuffer<double> Window => _window;

    public void Add(double x)
    {
        if (_window.Count == 0) _shift = x;
        if (_window.Add(x, out var old))
        {
            var d = old - _shift;
            _s1 -= d;
            _s2 -= d * d;
        }
        var e = x - _shift;
        _s1 += e;
        _s2 += e * e;
        if (++_sinceRecompute >= _window.Capacity && _window.IsFull) Recompute();
    }

    private void Recompute()
    {
        _sinceRecompute = 0;
        double sum = 0;
        for (var i = 0; i < _window.Count; i++) sum += _window[i];
        _shift = sum / _window.Count;
        double s1 = 0, s2 = 0;
        for (var i = 0; i < _window.Count; i++)
        {
            var d = _window[i] - _shift;
            s1 += d;
            s2 += d * d;
        }
        _s1 = s1;
        _s2 = s2;
    }

    public double Sum => _shift * Count + _s1;
    public double Mean => _shift + _s1 / Count;

    /// <summary>Sum of squared deviations from the window mean (never negative).</summary>
    public double CenteredSumOfSquares => Math.Max(0.0, _s2 - _s1 * _s1 / Count);

    /// <summary>Population variance (divide by n), as TA-Lib's STDDEV/BBANDS use.</summary>
    public double PopulationVariance => CenteredSumOfSquares / Count;

    /// <summary>Sample variance (divide by n - 1), as pandas' rolling std uses.</summary>
    public double SampleVariance => Count > 1 ? CenteredSumOfSquares / (Count - 1) : double.NaN;

    public void Clear()
    {
        _window.Clear();
        _shift = _s1 = _s2 = 0;
        _sinceRecompute = 0;
    }
}

/// <summary>
/// Rolling maximum or minimum over the last <c>period</c> samples with a monotonic deque: O(1)
/// amortised per update. Ties resolve to the most recent sample unless <c>preferOldest</c> is set.
/// </summary>
public sealed class MonotonicDeque
{
    private readonly long[] _index;
    private readonly double[] _value;
    private readonly bool _max, _preferOldest;
    private int _head, _count;

    public MonotonicDeque(int period, bool max, bool preferOldest = false)
    {
        if (period < 1) throw new ArgumentOutOfRangeException(nameof(period), period, "Period must be at least 1.");
        Period = period;
        // One spare slot: the expired front is dropped after the new value is pushed.
        _index = new long[period + 1];
        _value = new double[period + 1];
        _max = max;
        _preferOldest = preferOldest;
    }

    public int Period { get; }

    /// <summary>Adds the value at position <paramref name="position"/> (strictly increasing) and drops what left the window.</summary>
    public void Add(long position, double value)
    {
        // Pop dominated values from the back; with preferOldest an equal value does not dominate.
        while (_count > 0)
        {
            var back = Slot(_count - 1);
            var v = _value[back];
            var dominated = _max
                ? (_preferOldest ? v < value : v <= value)
                : (_preferOldest ? v > value : v >= value);
            if (!dominated) break;
            _count--;
        }
        var slot = Slot(_count);
        _index[slot] = position;
        _value[slot] = value;
        _count++;
        while (_index[_head] <= position - Period)
        {
            _head = _head + 1 == _index.Length ? 0 : _head + 1;
            _count--;
        }
    }

    public double Value => _count > 0 ? _value[_head] : double.NaN;
    public long Position => _count > 0 ? _index[_head] : -1;

    public void Clear()
    {
        _head = 0;
        _count = 0;
    }

    private int Slot(int i)
    {
        var k = _head + i;
        return k >= _index.Length ? k - _index.Length : k;
    }
}
