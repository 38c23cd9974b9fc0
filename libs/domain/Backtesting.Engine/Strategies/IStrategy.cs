using Platform.Backtesting.Engine;
using Platform.Quant;

namespace Platform.Backtesting.Engine.Strategies;

/// <summary>
/// A trading rule. The engine calls <see cref="OnBar"/> once per symbol bar, in time order, after the bar has
/// closed and after any fills on it; whatever the strategy decides fills on that symbol's next bar at the
/// earliest. Strategies keep their own streaming indicators and express intent with
/// <see cref="IStrategyContext.SetSignal"/> (sized by the run's position sizer) or explicit orders.
/// </summary>
public interface IStrategy
{
    string Name { get; }

    void Initialize(IStrategyContext context);

    void OnBar(IStrategyContext context, int symbol, in Bar bar);
}

/// <summary>What a strategy sees and can do during a run.</summary>
public interface IStrategyContext
{
    MarketSeries Market { get; }
    IReadOnlyList<string> Symbols { get; }
    int TimeIndex { get; }
    DateTimeOffset Time { get; }
    IPortfolioView Portfolio { get; }
    bool AllowShort { get; }

    /// <summary>
    /// Desired exposure in [−1, 1] (negative means short; treated as flat when shorting is off). When it
    /// differs from the symbol's last signal, working orders of the symbol are cancelled and a market order
    /// moves the position to the sizer's target at this close's price; an unchanged signal does nothing.
    /// </summary>
    void SetSignal(int symbol, double signal);

    Order Submit(OrderRequest request);

    void Cancel(int orderId);

    IReadOnlyList<Order> OpenOrders(int symbol);
}
