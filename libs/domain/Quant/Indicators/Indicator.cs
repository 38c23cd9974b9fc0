namespace Platform.Quant.Indicators;

/// <summary>
/// A streaming computation over a time-ordered series. <see cref="Current"/> is NaN until
/// <see cref="IsReady"/>; every update must carry a time strictly after the previous one.
/// </summary>
public interface IIndicator
{
    string Name { get; }

    /// <summary>Latest value; NaN until the indicator has seen <see cref="WarmUpPeriod"/> samples.</summary>
    double Current { get; }

    bool IsReady { get; }

    /// <summary>Number of samples needed before the first value is produced.</summary>
    int WarmUpPeriod { get; }

    /// <summary>Number of samples seen since construction or the last <see cref="Reset"/>.</summary>
    int Samples { get; }

    /// <summary>Time of the last accepted sample, or null before the first one.</summary>
    DateTimeOffset? Time { get; }

    void Reset();
}

/// <summary>An indicator fed with whole bars.</summary>
public interface IBarIndicator : IIndicator
{
    double Update(Bar bar);
}

/// <summary>An indicator fed with one value per time; fed with a bar it takes the close.</summary>
public interface IScalarIndicator : IBarIndicator
{
    double Update(DateTimeOffset time, double value);
}

/// <summary>Common bookkeeping: time ordering, sample count, readiness and reset.</summary>
public abstract class IndicatorBase : IIndicator
{
    protected IndicatorBase(string name, int warmUpPeriod)
    {
        if (warmUpPeriod < 1) throw new ArgumentOutOfRangeException(nameof(warmUpPeriod), warmUpPeriod, "Warm-up must be at least one sample.");
        Name = name;
        WarmUpPeriod = warmUpPeriod;
    }

    public string Name { get; }
    public double Current { get; private set; } = double.NaN;
    public bool IsReady => Samples >= WarmUpPeriod;
    public int WarmUpPeriod { get; }
    public int Samples { get; private set; }
    public DateTimeOffset? Time { get; private set; }

    public void Reset()
    {
        Samples = 0;
        Time = null;
        Current = double.NaN;
        OnReset();
    }

    protected abstract void OnReset();

    /// <summary>Accepts the time of a new sample; an equal or earlier time is rejected.</summary>
    protected void Advance(DateTimeOffset time)
    {
        if (Time is { } last && time <= last)
            throw new ArgumentException(
                $"{Name}: sample time {time:o} is not after the previous sample time {last:o}; updates must be strictly time-ordered.",
                nameof(time));
        Time = time;
        Samples++;
    }

    protected double Publish(double value)
    {
        Current = IsReady ? value : double.NaN;
        return Current;
    }

    /// <summary>NaN while not ready, otherwise <paramref name="value"/>: for secondary outputs of composite indicators.</summary>
    protected double WhenReady(double value) => IsReady ? value : double.NaN;
}

/// <summary>An indicator over one value per time (the close when fed with bars).</summary>
public abstract class ScalarIndicator(string name, int warmUpPeriod) : IndicatorBase(name, warmUpPeriod), IScalarIndicator
{
    public double Update(DateTimeOffset time, double value)
    {
        Advance(time);
        return Publish(ComputeNext(value));
    }

    public double Update(Bar bar) => Update(bar.Time, bar.Close);

    /// <summary>Consumes the next value and returns the indicator value (ignored while warming up).</summary>
    protected abstract double ComputeNext(double value);
}

/// <summary>An indicator that needs the whole bar (high, low, volume ...).</summary>
public abstract class BarIndicator(string name, int warmUpPeriod) : IndicatorBase(name, warmUpPeriod), IBarIndicator
{
    public double Update(Bar bar)
    {
        Advance(bar.Time);
        return Publish(ComputeNext(bar));
    }

    protected abstract double ComputeNext(in Bar bar);
}

/// <summary>Constants shared with TA-Lib's C code, so edge cases (zero ranges) resolve the same way.</summary>
internal static class TaLib
{
    /// <summary>TA-Lib 0.6's TA_EPSILON; TA_IS_ZERO(v) is |v| &lt; epsilon.</summary>
    public const double Epsilon = 1e-14;

    public static bool IsZero(double v) => -Epsilon < v && v < Epsilon;
    public static bool IsZeroOrNegative(double v) => v < Epsilon;
}
