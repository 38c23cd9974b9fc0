using Platform.Quant;

namespace Platform.Backtesting.Engine.Strategies;

/// <summary>The benchmark: every symbol bought on its first bar (sized by the run's sizer, equal weight by default) and held.</summary>
public sealed class BuyAndHoldStrategy : IStrategy
{
    public string Name => "buy-and-hold";

    public void Initialize(IStrategyContext context) { }

    public void OnBar(IStrategyContext context, int symbol, in Bar bar) => context.SetSignal(symbol, 1);
}
