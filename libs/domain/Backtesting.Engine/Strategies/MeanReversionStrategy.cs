using Platform.Quant;
using Platform.Quant.Indicators;

namespace Platform.Backtesting.Engine.Strategies;

/// <summary>
/// Mean reversion on the z-score of the close in its rolling window (population deviation, the Bollinger
/// convention, so |z| = k is the close on a k-σ band): long below −entry, short above +entry (flat when
/// shorting is off), out once |z| is back within the exit band.
/// </summary>
public sealed class MeanReversionStrategy : IStrategy
{
    private ZScore[] _z = [];
    private int[] _state = [];

    public MeanReversionStrategy(int period = 20, double entryZ = 2.0, double exitZ = 0.5)
    {
        if (period < 2) throw new ArgumentOutOfRangeException(nameof(period), period, "The period must be at least 2.");
        if (!(entryZ > 0)) throw new ArgumentOutOfRangeException(nameof(entryZ), entryZ, "The entry threshold must be positive.");
        if (!(exitZ >= 0 && exitZ < entryZ)) throw new ArgumentOutOfRangeException(nameof(exitZ), exitZ, "The exit threshold must be in [0, entry).");
        Period = period;
        EntryZ = entryZ;
        ExitZ = exitZ;
    }

    public int Period { get; }
    public double EntryZ { get; }
    public double ExitZ { get; }
    public string Name => $"mean-reversion({Period},{EntryZ:0.##},{ExitZ:0.##})";

    public void Initialize(IStrategyContext context)
    {
        _z = Enumerable.Range(0, context.Symbols.Count).Select(_ => new ZScore(Period)).ToArray();
        _state = new int[context.Symbols.Count];
    }

    public void OnBar(IStrategyContext context, int symbol, in Bar bar)
    {
        var z = _z[symbol].Update(bar.Time, bar.Close);
        if (double.IsNaN(z)) return;
        var state = _state[symbol];
        if (z <= -EntryZ) state = 1;
        else if (z >= EntryZ) state = context.AllowShort ? -1 : 0;
        else if (state == 1 && z >= -ExitZ) state = 0;
        else if (state == -1 && z <= ExitZ) state = 0;
        _state[symbol] = state;
        context.SetSignal(symbol, state);
    }
}
