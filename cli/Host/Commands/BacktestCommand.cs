using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Platform.Backtesting;
using Platform.Backtesting.Data;
using Platform.Backtesting.Engine.Data;
using Platform.Backtesting.Runs;
using Platform.Backtesting.Engine.Runs;
using Platform.Backtesting.Engine.Statistics;
using Platform.OfflineStore;
using Spectre.Console;

namespace Platform.Host.Commands;

/// <summary>
/// <c>./platform backtest</c>: runs a backtest in this process on stored bars (the offline store in the data
/// directory; symbols it lacks come from Yahoo CSV files with <c>--csv</c>, or from the synthetic market with
/// <c>--synthetic</c>) and prints the strategy's statistics next to buy-and-hold. <c>--model NAME</c> trades a
/// registered model version (<c>--model-version</c>, default the champion, fixed for the run).
/// </summary>
public sealed class BacktestCommand : IPlatformCommand
{
    private const long ProgressBarThreshold = 200_000;

    public Command Create()
    {
        var dataDir = PlatformCommands.DataDirOption();
        var symbols = new Option<string>("--symbols") { Description = "Comma-separated symbols, e.g. ALPHA,BRAVO.", Required = true };
        var strategy = new Option<string>("--strategy") { Description = "sma-cross | mean-reversion | model", Required = true };
        var from = new Option<DateTimeOffset?>("--from") { Description = "First bar time (inclusive)." };
        var to = new Option<DateTimeOffset?>("--to") { Description = "End of the range (exclusive)." };
        var interval = new Option<string>("--interval") { Description = "Bar interval.", DefaultValueFactory = _ => "1d" };
        var csv = new Option<DirectoryInfo?>("--csv") { Description = "A folder of Yahoo daily CSV files ({symbol}-daily.csv) to read before the store." };
        var parameters = new Option<string[]>("--param") { Description = "Strategy parameter name=value (repeatable), e.g. --param fast=10.", AllowMultipleArgumentsPerToken = true };
        var cash = new Option<double>("--cash") { Description = "Initial cash.", DefaultValueFactory = _ => 100_000 };
        var allowShort = new Option<bool>("--short") { Description = "Allow short selling." };
        var leverage = new Option<double>("--leverage") { Description = "Gross exposure limit as a multiple of equity.", DefaultValueFactory = _ => 1.0 };
        var perShare = new Option<double>("--commission-per-share") { Description = "Commission per share (minimum 1.00 per order when set).", DefaultValueFactory = _ => 0.005 };
        var slippage = new Option<double>("--slippage-bps") { Description = "Slippage in basis points of price.", DefaultValueFactory = _ => 5 };
        var trades = new Option<int>("--trades") { Description = "How many of the last trades to list.", DefaultValueFactory = _ => 10 };
        var synthetic = new Option<bool>("--synthetic") { Description = "Serve symbols the store lacks from the seeded synthetic market (named in the output)." };
        var model = new Option<string?>("--model") { Description = "Trade a registered model (with --strategy model)." };
        var modelVersion = new Option<string?>("--model-version") { Description = "The version to trade: a number, champion (default), challenger or latest." };

        var command = new Command("backtest", "Backtest a strategy on stored bars and compare it with buy-and-hold.")
        {
            dataDir, symbols, strategy, from, to, interval, csv, parameters, cash, allowShort, leverage, perShare, slippage, trades, synthetic, model, modelVersion,
        };
        command.SetAction(async (parse, ct) =>
        {
            var spec = new BacktestSpec
            {
                Symbols = parse.GetValue(symbols)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                Strategy = parse.GetValue(strategy)!,
                From = parse.GetValue(from),
                To = parse.GetValue(to),
                Interval = parse.GetValue(interval)!,
                Parameters = ParseParameters(parse.GetValue(parameters) ?? []),
                InitialCash = parse.GetValue(cash),
                AllowShort = parse.GetValue(allowShort),
                MaxLeverage = parse.GetValue(leverage),
                Commission = parse.GetValue(perShare) is > 0 and var rate ? new CommissionSpec("per-share", PerShare: rate, Minimum: 1.0) : null,
                Slippage = parse.GetValue(slippage) is > 0 and var bps ? new SlippageSpec("bps", Bps: bps) : null,
                Model = parse.GetValue(model),
                ModelVersion = parse.GetValue(modelVersion),
            };
            var errors = BacktestSpecValidator.Validate(spec);
            if (errors.Count > 0)
            {
                foreach (var (key, messages) in errors)
                    foreach (var message in messages) AnsiConsole.MarkupLine($"[red]{Markup.Escape(key)}[/]: {Markup.Escape(message)}");
                return 2;
            }

            var directory = Path.GetFullPath(parse.GetValue(dataDir)!.FullName);
            var reader = OfflineStoreExtensions.CreateReader(new ConfigurationBuilder().AddEnvironmentVariables().Build(), directory);
            IBarSource source = BacktestingService.CreateBarSource(reader, syntheticFallback: parse.GetValue(synthetic));
            if (parse.GetValue(csv) is { } folder) source = new FallbackBarSource(new YahooCsvBarSource(folder.FullName), source);
            await using var training = spec.Model is null ? null : await EmbeddedTraining.StartAsync(directory, ct);
            var models = training is null ? null : new RegistryModelSource(
                training.Services.GetRequiredService<Platform.BuildingBlocks.State.IStateStoreProvider>(),
                training.Services.GetRequiredService<Platform.BuildingBlocks.PubSub.IEventPublisher>());
            var runner = new BacktestRunner(source, models: models);

            try
            {
                var market = await runner.LoadAsync(spec, ct);
                using var loaded = await runner.LoadModelAsync(spec, ct) is { } m ? new ModelHandle(m) : null;
                BacktestReport report;
                if (market.BarCount * 2 >= ProgressBarThreshold)
                {
                    report = null!;
                    await AnsiConsole.Progress().StartAsync(async progress =>
                    {
                        var task = progress.AddTask($"{spec.Strategy} on {market.BarCount:N0} bars", maxValue: 1.0);
                        report = await Task.Run(() => runner.Run(spec, market, new Progress<double>(v => task.Value = v), ct: ct, model: loaded?.Model), ct);
                        task.Value = 1.0;
                    });
                }
                else report = runner.Run(spec, market, ct: ct, model: loaded?.Model);
                Print(report, source.Name, parse.GetValue(trades));
                return 0;
            }
            catch (Exception ex) when (ex is UnknownSymbolException or EmptyRangeException or InvalidBacktestSpecException
                or Platform.Modeling.Registry.RegistryException or ArgumentException)
            {
                AnsiConsole.MarkupLine($"[red]{Markup.Escape(ex.Message)}[/]");
                return 1;
            }
        });
        return command;
    }

    private sealed class ModelHandle(Platform.Backtesting.Engine.Modeling.LoadedModel model) : IDisposable
    {
        public Platform.Backtesting.Engine.Modeling.LoadedModel Model { get; } = model;
        public void Dispose() => Model.Model.Dispose();
    }

    private static Dictionary<string, double> ParseParameters(IEnumerable<string> pairs)
    {
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var pair in pairs)
        {
            var parts = pair.Split('=', 2);
            if (parts.Length != 2 || !double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                throw new ArgumentException($"--param expects name=value, not '{pair}'.");
            result[parts[0].Trim()] = value;
        }
        return result;
    }

    private static void Print(BacktestReport report, string source, int tradeCount)
    {
        var s = report.Summary;
        AnsiConsole.MarkupLine($"[bold]{Markup.Escape(s.Strategy)}[/] on {Markup.Escape(string.Join(", ", s.Symbols))} ({s.Interval}, {s.From:yyyy-MM-dd} to {s.To:yyyy-MM-dd}, {s.Bars:N0} bars) from {Markup.Escape(source)}");
        AnsiConsole.MarkupLine($"costs: {Markup.Escape(s.Commission)}, slippage {Markup.Escape(s.Slippage)}; sizing {Markup.Escape(s.Sizing)}; {(s.AllowShort ? "shorting on" : "long only")}, leverage {s.MaxLeverage:0.##}x");

        var table = new Table().AddColumn("").AddColumn(new TableColumn("strategy").RightAligned()).AddColumn(new TableColumn("buy-and-hold").RightAligned());
        void Row(string name, Func<PerformanceStatistics, string> value) => table.AddRow(name, value(report.Strategy), value(report.Benchmark));
        var c = CultureInfo.InvariantCulture;
        Row("final equity", p => p.Returns.FinalEquity.ToString("N0", c));
        Row("total return", p => p.Returns.TotalReturn.ToString("P1", c));
        Row("annualized return", p => p.Returns.AnnualizedReturn.ToString("P2", c));
        Row("volatility", p => p.Risk.Volatility.ToString("P1", c));
        Row("Sharpe", p => p.Risk.Sharpe.ToString("F2", c));
        Row("Sortino", p => p.Risk.Sortino.ToString("F2", c));
        Row("max drawdown", p => p.Drawdown.MaxDrawdown.ToString("P1", c));
        Row("longest drawdown (bars)", p => p.Drawdown.LongestDurationBars.ToString(c));
        Row("Calmar", p => p.Risk.Calmar.ToString("F2", c));
        Row("trades (closed/open)", p => $"{p.Trades.Count}/{p.Trades.OpenCount}");
        Row("win rate", p => p.Trades.WinRate.ToString("P0", c));
        Row("profit factor", p => p.Trades.ProfitFactor.ToString("F2", c));
        Row("average win / loss", p => $"{p.Trades.AverageWin.ToString("N0", c)} / {p.Trades.AverageLoss.ToString("N0", c)}");
        Row("turnover (per year)", p => p.Exposure.AnnualTurnover.ToString("F2", c));
        Row("time in market", p => p.Exposure.TimeInMarket.ToString("P0", c));
        Row("commission + slippage", p => $"{p.Costs.Commission.ToString("N0", c)} + {p.Costs.Slippage.ToString("N0", c)}");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"vs buy-and-hold: alpha {report.Relative.Alpha.ToString("P2", c)}/yr, beta {report.Relative.Beta.ToString("F2", c)}, correlation {report.Relative.Correlation.ToString("F2", c)}, excess return {report.Relative.ExcessReturn.ToString("P1", c)}");

        if (tradeCount <= 0 || report.Trades.Count == 0) return;
        var list = new Table().AddColumns("symbol", "side", "entry", "exit", "qty", "entry px", "exit px", "net P&L", "costs");
        foreach (var t in report.Trades.TakeLast(tradeCount))
            list.AddRow(Markup.Escape(t.Symbol), t.Side.ToString(), t.EntryTime.ToString("yyyy-MM-dd", c), t.IsOpen ? "open" : t.ExitTime.ToString("yyyy-MM-dd", c),
                t.Quantity.ToString("N0", c), t.EntryPrice.ToString("F2", c), t.ExitPrice.ToString("F2", c), t.NetPnl.ToString("N0", c), (t.Commission + t.Slippage).ToString("N2", c));
        AnsiConsole.MarkupLine($"last {Math.Min(tradeCount, report.Trades.Count)} of {report.Trades.Count} trades:");
        AnsiConsole.Write(list);
    }
}
