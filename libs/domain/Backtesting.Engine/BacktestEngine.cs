using Platform.Backtesting.Engine.Strategies;
using Platform.Quant;

namespace Platform.Backtesting.Engine;

/// <summary>What a run produced: the per-time account series, every order and fill, and the round-trip trades.</summary>
public sealed record BacktestRun(
    string Strategy, BacktestSettings Settings, MarketSeries Market,
    double[] Equity, double[] Cash, double[] GrossExposure, double[] NetExposure,
    IReadOnlyList<Fill> Fills, IReadOnlyList<Order> Orders, IReadOnlyList<Trade> Trades, long BarEvents)
{
    public DateTimeOffset[] Timeline => Market.Timeline;
}

/// <summary>
/// Bar-by-bar simulation over one or many symbols. At each time of the timeline, for every symbol with a
/// bar then: working orders are matched against the bar (they were all decided on earlier bars), the
/// position is marked at the close, the sizer and the strategy see the bar, and new orders wait for the
/// symbol's next bar. A decision at bar t's close therefore fills at bar t+1's open at the earliest; limits
/// and stops are matched against bar t+1's range, gaps through the price filling at the open.
/// </summary>
public sealed class BacktestEngine(BacktestSettings settings)
{
    private const int CancellationCheckInterval = 4096;
    private const int ProgressSteps = 100;

    public BacktestSettings Settings { get; } = settings;

    public BacktestRun Run(MarketSeries market, IStrategy strategy, IBacktestObserver? observer = null,
        IProgress<double>? progress = null, CancellationToken ct = default)
    {
        Settings.Validate();
        var run = new RunState(Settings, market, observer);
        return run.Execute(strategy, progress, ct);
    }

    private sealed class RunState : IStrategyContext
    {
        private readonly BacktestSettings _settings;
        private readonly IBacktestObserver? _observer;
        private readonly Portfolio _portfolio;
        private readonly List<Order>[] _working;
        private readonly double[] _signal;
        private readonly long[] _volumeUsed;
        private readonly int[] _volumeUsedAt;
        private readonly List<Order> _orders = [];
        private readonly List<Fill> _fills = [];
        private readonly TradeLedger _ledger;
        private readonly string[] _symbols;
        private int _timeIndex = -1;
        private DateTimeOffset _time;

        public RunState(BacktestSettings settings, MarketSeries market, IBacktestObserver? observer)
        {
            _settings = settings;
            _observer = observer;
            Market = market;
            _symbols = market.Series.Select(s => s.Symbol).ToArray();
            _portfolio = new Portfolio(market.SymbolCount, settings.InitialCash);
            _working = new List<Order>[market.SymbolCount];
            for (var i = 0; i < _working.Length; i++) _working[i] = [];
            _signal = new double[market.SymbolCount];
            _volumeUsed = new long[market.SymbolCount];
            _volumeUsedAt = new int[market.SymbolCount];
            Array.Fill(_volumeUsedAt, -1);
            _ledger = new TradeLedger(_symbols);
        }

        public MarketSeries Market { get; }
        public IReadOnlyList<string> Symbols => _symbols;
        public int TimeIndex => _timeIndex;
        public DateTimeOffset Time => _time;
        public IPortfolioView Portfolio => _portfolio;
        public bool AllowShort => _settings.AllowShort;

        public BacktestRun Execute(IStrategy strategy, IProgress<double>? progress, CancellationToken ct)
        {
            var timeline = Market.Timeline;
            var series = Market.Series;
            var symbolCount = series.Count;
            var sizer = _settings.Sizer;
            sizer.Initialize(symbolCount, Market.Interval);
            strategy.Initialize(this);

            var equity = new double[timeline.Length];
            var cash = new double[timeline.Length];
            var gross = new double[timeline.Length];
            var net = new double[timeline.Length];
            var cursors = new int[symbolCount];
            var barArrays = series.Select(s => s.Bars).ToArray();
            var progressEvery = Math.Max(1, timeline.Length / ProgressSteps);
            long events = 0;

            for (var t = 0; t < timeline.Length; t++)
            {
                if ((t & (CancellationCheckInterval - 1)) == 0) ct.ThrowIfCancellationRequested();
                _timeIndex = t;
                var time = _time = timeline[t];
                for (var s = 0; s < symbolCount; s++)
                {
                    var bars = barArrays[s];
                    var i = cursors[s];
                    if (i >= bars.Length || bars[i].Time != time) continue;
                    ref readonly var bar = ref bars[i];
                    if (_working[s].Count > 0) MatchOrders(s, in bar);
                    _portfolio.Mark(s, bar.Close);
                    sizer.Update(s, in bar);
                    strategy.OnBar(this, s, in bar);
                    cursors[s] = i + 1;
                    events++;
                }

                _portfolio.Value(out var positionValue, out var grossExposure);
                cash[t] = _portfolio.Cash;
                equity[t] = cash[t] + positionValue;
                gross[t] = grossExposure;
                net[t] = positionValue;
                _observer?.OnTimeStep(new PortfolioSnapshot(t, time, cash[t], positionValue, equity[t], gross[t]), _portfolio);
                if (progress is not null && (t % progressEvery == 0 || t == timeline.Length - 1)) progress.Report((t + 1.0) / timeline.Length);
            }

            var last = timeline.Length - 1;
            var trades = _ledger.AllTrades(_portfolio.MarkPrice, timeline[last], last);
            return new BacktestRun(strategy.Name, _settings, Market, equity, cash, gross, net, _fills, _orders, trades, events);
        }

        public void SetSignal(int symbol, double signal)
        {
            signal = Math.Clamp(signal, -1.0, 1.0);
            if (!_settings.AllowShort && signal < 0) signal = 0;
            if (signal == _signal[symbol]) return;
            var weight = _settings.Sizer.TargetWeight(symbol, signal);
            if (double.IsNaN(weight)) return; // the sizer is warming up: try again on a later bar
            _signal[symbol] = signal;
            CancelAll(symbol);
            var price = _portfolio.MarkPrice(symbol);
            if (!(price > 0)) return;
            var target = (long)Math.Truncate(weight * _portfolio.Equity / price);
            var delta = target - _portfolio.Position(symbol);
            if (delta != 0) Submit(OrderRequest.Market(symbol, delta, "signal"));
        }

        public Order Submit(OrderRequest request)
        {
            if ((uint)request.Symbol >= (uint)_symbols.Length) throw new ArgumentOutOfRangeException(nameof(request), request.Symbol, "Unknown symbol index.");
            var order = new Order(_orders.Count + 1, request, _timeIndex, _time);
            _orders.Add(order);
            var error = request switch
            {
                { Quantity: 0 } => "The quantity is zero.",
                { Type: OrderType.Limit or OrderType.StopLimit, LimitPrice: var l } when !(l > 0) => "A limit order needs a positive limit price.",
                { Type: OrderType.Stop or OrderType.StopLimit, StopPrice: var s } when !(s > 0) => "A stop order needs a positive stop price.",
                _ => null,
            };
            if (error is not null)
            {
                order.Status = OrderStatus.Rejected;
                order.Reason = error;
                return order;
            }
            _working[request.Symbol].Add(order);
            return order;
        }

        public void Cancel(int orderId)
        {
            if (orderId < 1 || orderId > _orders.Count) return;
            var order = _orders[orderId - 1];
            if (!order.IsOpen) return;
            order.Status = OrderStatus.Cancelled;
            order.Reason ??= "Cancelled by the strategy.";
            _working[order.Symbol].Remove(order);
        }

        private void CancelAll(int symbol)
        {
            foreach (var order in _working[symbol])
            {
                order.Status = OrderStatus.Cancelled;
                order.Reason = "Replaced by a new signal.";
            }
            _working[symbol].Clear();
        }

        public IReadOnlyList<Order> OpenOrders(int symbol) => _working[symbol];

        private void MatchOrders(int symbol, in Bar bar)
        {
            var working = _working[symbol];
            // Orders are valued against the open first; the close marks them afterwards.
            _portfolio.Mark(symbol, bar.Open);
            for (var k = 0; k < working.Count; k++)
            {
                var order = working[k];
                if (!FillRules.TryMatch(order, in bar, out var price, out var takesLiquidity)) continue;
                Execute(order, symbol, in bar, price, takesLiquidity);
                if (!order.IsOpen) { working.RemoveAt(k); k--; }
            }
        }

        private void Execute(Order order, int symbol, in Bar bar, double price, bool takesLiquidity)
        {
            var quantity = order.RemainingQuantity;
            var direction = Math.Sign(quantity);
            string? stopReason = null;

            if (_settings.MaxParticipation is { } participation)
            {
                if (_volumeUsedAt[symbol] != _timeIndex) { _volumeUsedAt[symbol] = _timeIndex; _volumeUsed[symbol] = 0; }
                var available = Math.Max(0, (long)Math.Floor(participation * bar.Volume) - _volumeUsed[symbol]);
                if (Math.Abs(quantity) > available) quantity = direction * available;
                if (quantity == 0) return; // no volume left on this bar: keep working
            }

            var position = _portfolio.Position(symbol);
            if (!_settings.AllowShort && direction < 0 && position + quantity < 0)
            {
                quantity = -Math.Max(0, position);
                stopReason = "Short selling is disabled.";
            }

            if (quantity != 0)
            {
                var allowed = LeverageCap(order, symbol, in bar, price, quantity, takesLiquidity);
                if (allowed != quantity)
                {
                    quantity = allowed;
                    stopReason = $"The leverage limit of {_settings.MaxLeverage:0.##}x was reached.";
                }
            }

            if (quantity == 0)
            {
                order.Status = order.FilledQuantity == 0 ? OrderStatus.Rejected : OrderStatus.Cancelled;
                order.Reason = stopReason;
                return;
            }

            var abs = Math.Abs(quantity);
            var slippage = SlippageFor(order, in bar, price, abs, takesLiquidity);
            var value = abs * price;
            var commission = _settings.Commission.Total(Math.Abs(order.FilledQuantity) + abs, order.FilledValue + value) - order.CommissionCharged;
            var fill = new Fill(order.Id, symbol, _symbols[symbol], bar.Time, _timeIndex, order.SubmittedTimeIndex,
                order.Type, quantity, price, slippage, commission);
            if (fill.TimeIndex <= order.SubmittedTimeIndex)
                throw new InvalidOperationException($"Look-ahead: order {order.Id} decided at time index {order.SubmittedTimeIndex} would fill at {fill.TimeIndex}.");

            _portfolio.Apply(fill);
            _fills.Add(fill);
            _ledger.OnFill(fill);
            order.FilledQuantity += quantity;
            order.FilledValue += value;
            order.CommissionCharged += commission;
            if (_settings.MaxParticipation is not null) _volumeUsed[symbol] += abs;

            if (order.RemainingQuantity == 0) order.Status = OrderStatus.Filled;
            else if (stopReason is not null) { order.Status = OrderStatus.Cancelled; order.Reason = stopReason; }
            else order.Status = OrderStatus.PartiallyFilled;
            _observer?.OnFill(fill, order, bar.Time);
        }

        private double SlippageFor(Order order, in Bar bar, double price, long shares, bool takesLiquidity)
        {
            if (!takesLiquidity) return 0;
            var slippage = _settings.Slippage.PerShare(price, shares, in bar);
            // A stop-limit never fills beyond its limit: slippage is capped there.
            if (order.Type == OrderType.StopLimit)
                slippage = Math.Min(slippage, Math.Max(0, order.Quantity > 0 ? order.Request.LimitPrice - price : price - order.Request.LimitPrice));
            return slippage;
        }

        /// <summary>
        /// The largest part of <paramref name="quantity"/> (same sign) that keeps gross exposure within the
        /// leverage limit after costs. Fills that do not add exposure are never limited.
        /// </summary>
        private long LeverageCap(Order order, int symbol, in Bar bar, double price, long quantity, bool takesLiquidity)
        {
            var position = _portfolio.Position(symbol);
            if (Math.Abs(position + quantity) <= Math.Abs(position)) return quantity;
            var mark = _portfolio.MarkPrice(symbol);
            var equity = _portfolio.Equity;
            var grossOthers = _portfolio.GrossExposure - Math.Abs(position * mark);
            var limit = _settings.MaxLeverage;
            var direction = Math.Sign(quantity);
            var fillBar = bar;

            bool Fits(long q)
            {
                var slip = SlippageFor(order, in fillBar, price, q, takesLiquidity);
                var commission = _settings.Commission.Total(Math.Abs(order.FilledQuantity) + q, order.FilledValue + q * price) - order.CommissionCharged;
                var fillPrice = price + direction * slip;
                var equityAfter = equity - direction * q * (fillPrice - mark) - commission;
                var grossAfter = grossOthers + Math.Abs(position + direction * q) * mark;
                return grossAfter <= limit * equityAfter * (1 + 1e-12);
            }

            var wanted = Math.Abs(quantity);
            if (Fits(wanted)) return quantity;
            // Closing part of a reversal is always allowed; search the largest size that fits above it.
            long lo = direction * position < 0 ? Math.Abs(position) : 0, hi = wanted;
            if (lo > 0 && !Fits(lo)) return direction * lo;
            while (hi - lo > 1)
            {
                var mid = lo + (hi - lo) / 2;
                if (Fits(mid)) lo = mid; else hi = mid;
            }
            return direction * lo;
        }
    }
}

/// <summary>How an order matches a bar it did not see when it was decided.</summary>
internal static class FillRules
{
    /// <summary>
    /// Market: the open. Limit buy at L: the open if it is at or below L (gapped through), else L if the low
    /// reaches it (sell: mirror). Stop buy at S: the open if it is at or above S (gapped through: a worse
    /// price), else S if the high reaches it (sell: mirror). Stop-limit: a stop that, once triggered, is a
    /// limit; triggered at the open it may fill at the open or at L within the bar; triggered within the bar
    /// at S it fills at S only when S is within the limit, since the path inside a bar is unknown, and
    /// otherwise works as a limit from the next bar. Limit fills provide liquidity and pay no slippage.
    /// </summary>
    public static bool TryMatch(Order order, in Bar bar, out double price, out bool takesLiquidity)
    {
        var buy = order.Quantity > 0;
        var limit = order.Request.LimitPrice;
        var stop = order.Request.StopPrice;
        price = double.NaN;
        takesLiquidity = false;
        switch (order.Type)
        {
            case OrderType.Market:
                price = bar.Open;
                takesLiquidity = true;
                return true;
            case OrderType.Limit:
                return MatchLimit(buy, limit, in bar, out price);
            case OrderType.Stop:
                takesLiquidity = true;
                if (buy ? bar.Open >= stop : bar.Open <= stop) { price = bar.Open; return true; }
                if (buy ? bar.High >= stop : bar.Low <= stop) { price = stop; return true; }
                return false;
            case OrderType.StopLimit:
                if (order.StopTriggered) return MatchLimit(buy, limit, in bar, out price);
                if (buy ? bar.Open >= stop : bar.Open <= stop)
                {
                    order.StopTriggered = true;
                    return MatchLimit(buy, limit, in bar, out price);
                }
                if (buy ? bar.High >= stop : bar.Low <= stop)
                {
                    order.StopTriggered = true;
                    if (buy ? stop <= limit : stop >= limit) { price = stop; takesLiquidity = true; return true; }
                }
                return false;
            default:
                throw new ArgumentOutOfRangeException(nameof(order), order.Type, "Unknown order type.");
        }
    }

    private static bool MatchLimit(bool buy, double limit, in Bar bar, out double price)
    {
        if (buy ? bar.Open <= limit : bar.Open >= limit) { price = bar.Open; return true; }
        if (buy ? bar.Low <= limit : bar.High >= limit) { price = limit; return true; }
        price = double.NaN;
        return false;
    }
}
