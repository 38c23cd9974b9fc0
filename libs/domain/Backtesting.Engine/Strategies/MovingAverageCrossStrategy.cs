using Platform.Quant;
using Platform.Quant.Indicators;

namespace Platform.Backtesting.Engine.Strategies;

/// <summary>
/// Momentum: long while the fast moving average is above the slow one, short (or flat when shorting is
/// off) while it is below. Simple averages by default, exponential ones on request.
/// </summary>
public sealed class MovingAverageCrossStrategy : IStrategy
{
    private IScalarIndicator[] _fast = [], _slow = [];

    public MovingAverageCrossStrategy(int fastPeriod = 20, int slowPeriod = 50, bool exponential = false)
    {
        if (fastPeriod < 1) throw new ArgumentOutOfRangeException(nameof(fastPeriod), fastPeriod, "Periods must be positive.");
        if (slowPeriod <= fastPeriod) throw new ArgumentOutOfRangeException(nameof(slowPeriod), slowPeriod, "The slow period must be longer than the fast one.");
        FastPeriod = fastPeriod;
        SlowPeriod = slowPeriod;
        Exponential = exponential;
    }

    public int FastPeriod { get; }
    public int SlowPeriod { get; }
    public bool Exponential { get; }
    public string Name => $"{(Exponential ? "ema" : "sma")}-cross({FastPeriod},{SlowPeriod})";

    public void Initialize(IStrategyContext context)
    {
        var n = context.Symbols.Count;
        _fast = new IScalarIndicator[n];
        _slow = new IScalarIndicator[n];
        for (var i = 0; i < n; i++)
        {
            _fast[i] = Exponential ? new ExponentialMovingAverage(FastPeriod) : new SimpleMovingAverage(FastPeriod);
            _slow[i] = Exponential ? new ExponentialMovingAverage(SlowPeriod) : new SimpleMovingAverage(SlowPeriod);
        }
    }

    public void OnBar(IStrategyContext context, int symbol, in Bar bar)
    {
        var fast = _fast[symbol].Update(bar.Time, bar.Close);
        var slow = _slow[symbol].Update(bar.Time, bar.Close);
        if (!_slow[symbol].IsReady) return;
        if (fast > slow) context.SetSignal(symbol, 1);
        else if (fast < slow) context.SetSignal(symbol, -1);
    }
}
