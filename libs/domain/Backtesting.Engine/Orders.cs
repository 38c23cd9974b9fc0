namespace Platform.Backtesting.Engine;

public enum OrderType { Market, Limit, Stop, StopLimit }

public enum OrderStatus { Working, PartiallyFilled, Filled, Cancelled, Rejected }

/// <summary>
/// What a strategy asks for. <see cref="Quantity"/> is signed: positive buys, negative sells. Prices are
/// required by the order type (limit for Limit and StopLimit, stop for Stop and StopLimit). Orders are good
/// until cancelled: a remainder left by a volume limit keeps working on the following bars.
/// </summary>
public readonly record struct OrderRequest(int Symbol, long Quantity, OrderType Type = OrderType.Market,
    double LimitPrice = double.NaN, double StopPrice = double.NaN, string? Tag = null)
{
    public static OrderRequest Market(int symbol, long quantity, string? tag = null) => new(symbol, quantity, OrderType.Market, Tag: tag);
    public static OrderRequest Limit(int symbol, long quantity, double limit, string? tag = null) => new(symbol, quantity, OrderType.Limit, limit, Tag: tag);
    public static OrderRequest Stop(int symbol, long quantity, double stop, string? tag = null) => new(symbol, quantity, OrderType.Stop, StopPrice: stop, Tag: tag);
    public static OrderRequest StopLimit(int symbol, long quantity, double stop, double limit, string? tag = null) =>
        new(symbol, quantity, OrderType.StopLimit, limit, stop, tag);
}

/// <summary>A working or finished order and how much of it has filled.</summary>
public sealed class Order
{
    internal Order(int id, OrderRequest request, int submittedTimeIndex, DateTimeOffset submittedAt)
    {
        Id = id;
        Request = request;
        SubmittedTimeIndex = submittedTimeIndex;
        SubmittedAt = submittedAt;
    }

    public int Id { get; }
    public OrderRequest Request { get; }
    public int Symbol => Request.Symbol;
    public OrderType Type => Request.Type;
    public long Quantity => Request.Quantity;

    /// <summary>Index on the run's timeline of the bar whose close the decision was made on; fills only come from later bars.</summary>
    public int SubmittedTimeIndex { get; }
    public DateTimeOffset SubmittedAt { get; }
    public OrderStatus Status { get; internal set; } = OrderStatus.Working;
    public long FilledQuantity { get; internal set; }
    public long RemainingQuantity => Quantity - FilledQuantity;
    public bool IsOpen => Status is OrderStatus.Working or OrderStatus.PartiallyFilled;

    /// <summary>A stop-limit becomes a limit order once its stop has traded.</summary>
    public bool StopTriggered { get; internal set; }

    /// <summary>Absolute traded value of the fills so far (pre-slippage prices): the base of order-level commission.</summary>
    public double FilledValue { get; internal set; }
    public double CommissionCharged { get; internal set; }
    public string? Reason { get; internal set; }
}

/// <summary>
/// One execution. <see cref="Price"/> is the matched market price (the open, or the limit/stop price);
/// <see cref="SlippagePerShare"/> is the adverse adjustment on top of it, so the cash moved is
/// <c>Quantity × FillPrice + Commission</c>. Costs are itemized here and summed into trades.
/// </summary>
public sealed record Fill(
    int OrderId, int Symbol, string SymbolName, DateTimeOffset Time, int TimeIndex, int DecisionTimeIndex,
    OrderType OrderType, long Quantity, double Price, double SlippagePerShare, double Commission)
{
    /// <summary>Price per share actually paid (buy) or received (sell).</summary>
    public double FillPrice => Quantity > 0 ? Price + SlippagePerShare : Price - SlippagePerShare;
    public double SlippageCost => Math.Abs(Quantity) * SlippagePerShare;
    public double Value => Math.Abs(Quantity) * Price;
    /// <summary>Change in cash: −(quantity × fill price) − commission.</summary>
    public double CashFlow => -Quantity * FillPrice - Commission;
}
