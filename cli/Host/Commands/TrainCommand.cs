using System.CommandLine;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Platform.Contracts;
using Platform.ServiceDefaults;
using Platform.Training;
using Platform.Modeling.Validation;
using Platform.Training.Runs;
using Platform.Training.Workflows;
using Platform.Workflows;
using Spectre.Console;

namespace Platform.Host.Commands;

/// <summary>
/// <c>./platform train --symbols S[,S...] --target return|direction|volatility --horizon H [--data-dir DIR]</c>: runs the
/// training workflow in-process on the embedded runtime against the data directory, shows its progress, prints the
/// walk-forward report and registers (and, when the policy allows, promotes) the winner.
/// </summary>
public sealed class TrainCommand : IPlatformCommand
{
    public Command Create()
    {
        var dataDir = PlatformCommands.DataDirOption();
        var symbols = new Option<string>("--symbols") { Description = "Comma-separated symbols.", Required = true };
        var target = new Option<string>("--target") { Description = "return, direction or volatility.", DefaultValueFactory = _ => "return" };
        var horizon = new Option<int>("--horizon") { Description = "Forward horizon in bars.", DefaultValueFactory = _ => 5 };
        var interval = new Option<string>("--interval") { Description = "Bar interval.", DefaultValueFactory = _ => "1d" };
        var model = new Option<string?>("--model") { Description = "Registry model name (default {target}-h{horizon})." };
        var folds = new Option<int>("--folds") { Description = "Walk-forward folds.", DefaultValueFactory = _ => 5 };
        var trials = new Option<int>("--search-trials") { Description = "Random-search trials for xgboost (0: defaults only).", DefaultValueFactory = _ => 0 };
        var noPromote = new Option<bool>("--no-promote") { Description = "Register only; do not promote." };
        var candidates = new Option<string?>("--candidates")
        {
            Description = "Comma-separated candidate kinds: ridge, xgboost, fasttree, lightgbm; 'ensemble' adds their average (default: all four).",
        };
        var dataSource = new Option<string>("--data-source")
        {
            Description = "store (the offline store) or synthetic (the seeded synthetic market, recorded in the lineage).",
            DefaultValueFactory = _ => DataSources.Store,
        };
        var command = new Command("train", "Train, walk-forward validate and register a model (embedded runtime).")
            { dataDir, symbols, target, horizon, interval, model, folds, trials, noPromote, candidates, dataSource };
        command.SetAction(async (parse, ct) =>
        {
            IReadOnlyList<Modeling.Models.ModelSpec>? specs = null;
            try
            {
                if (parse.GetValue(candidates) is { Length: > 0 } list) specs = TrainingRequest.ParseCandidates(list);
            }
            catch (FormatException ex)
            {
                AnsiConsole.MarkupLine($"[red]candidates[/]: {Markup.Escape(ex.Message)}");
                return 2;
            }
            var request = new TrainingRequest(
                parse.GetValue(symbols)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                parse.GetValue(target)!, parse.GetValue(horizon), parse.GetValue(interval)!, Model: parse.GetValue(model), Candidates: specs,
                Folds: parse.GetValue(folds), SearchTrials: parse.GetValue(trials), Promote: !parse.GetValue(noPromote),
                DataSource: parse.GetValue(dataSource)!);
            var errors = request.Validate();
            if (errors.Count > 0) return Fail(errors);
            await using var app = await EmbeddedTraining.StartAsync(parse.GetValue(dataDir)!.FullName, ct);
            var services = app.Services;
            errors = await services.GetRequiredService<Training.Data.TrainingBarSource>().CheckAsync(request, ct);
            if (errors.Count > 0) return Fail(errors);
            var workflows = services.GetRequiredService<WorkflowClient>();
            var progress = services.GetRequiredService<TrainingProgress>();
            var id = "train-" + Guid.NewGuid().ToString("N");
            await workflows.ScheduleNewWorkflowAsync(nameof(TrainingWorkflow), id, request, ct);

            WorkflowState state = null!;
            await AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .StartAsync(async ctx =>
                {
                    var task = ctx.AddTask("starting", maxValue: 1);
                    while (true)
                    {
                        state = await workflows.GetWorkflowStateAsync(id, true, ct);
                        var status = state.ReadCustomStatusAs<TrainingStatus>();
                        if (status is not null)
                        {
                            task.MaxValue = Math.Max(1, status.Total);
                            task.Value = status.Done;
                            task.Description = Markup.Escape(progress.Get(id) ?? status.Step);
                        }
                        if (state.RuntimeStatus.IsTerminal()) { task.Value = task.MaxValue; break; }
                        await Task.Delay(250, ct);
                    }
                });
            if (state.RuntimeStatus != WorkflowRuntimeStatus.Completed)
            {
                AnsiConsole.MarkupLine($"[red]Training {state.RuntimeStatus.ToString().ToLowerInvariant()}[/]: {Markup.Escape(state.FailureDetails?.ErrorMessage ?? "")}");
                return 1;
            }
            var outcome = state.ReadOutputAs<TrainingOutcome>()!;
            Render(outcome);
            return 0;
        });
        return command;
    }

    private static int Fail(Dictionary<string, string[]> errors)
    {
        foreach (var (field, messages) in errors) AnsiConsole.MarkupLine($"[red]{Markup.Escape(field)}[/]: {Markup.Escape(string.Join(" ", messages))}");
        return 2;
    }

    internal static void Render(TrainingOutcome outcome)
    {
        var d = outcome.Dataset;
        AnsiConsole.MarkupLine($"Dataset [blue]{d.Fingerprint[..12]}[/] ({Markup.Escape(d.DataSource)}): {d.Rows} rows x {d.Features} features ({Markup.Escape(d.FeatureSet)}), {string.Join(",", d.Symbols)}, {d.From:yyyy-MM-dd}..{d.To:yyyy-MM-dd}");
        if (d.FinalFrom is { } ff && d.FinalTo is { } ft)
            AnsiConsole.MarkupLine($"Selection on walk-forward folds over {d.InnerRows} rows; untouched final period {ff:yyyy-MM-dd}..{ft:yyyy-MM-dd} ({d.FinalRows} rows).");
        var table = new Table().Title("Inner walk-forward folds (mean) and the untouched final period");
        foreach (var c in new[] { "model", "folds", "RMSE", "IC", "Rank IC", "ICIR", "hit rate", "QLIKE", "final RMSE", "final Rank IC", "final hit", "final QLIKE" })
            table.AddColumn(c);
        foreach (var (report, kind) in outcome.Baselines.Select(r => (r, "baseline")).Concat(outcome.Candidates.Select(r => (r, "candidate"))))
        {
            var m = report.Aggregate;
            var f = report.Final;
            var name = report.Model == outcome.Winner && kind == "candidate" ? $"[green]{Markup.Escape(report.Model)} *[/]"
                : kind == "baseline" ? $"[grey]{Markup.Escape(report.Model)}[/]" : Markup.Escape(report.Model);
            table.AddRow(name, report.Folds.Count.ToString(CultureInfo.InvariantCulture), F(m.Rmse), F(m.Ic), F(m.RankIc),
                F(report.Icir), F(m.HitRate), F(m.Qlike), F(f?.Rmse), F(f?.RankIc), F(f?.HitRate), F(f?.Qlike));
        }
        if (outcome.Champion is { } champion)
        {
            var f = champion.Final;
            table.AddRow($"[blue]champion v{champion.Version} ({Markup.Escape(champion.Kind)})[/]", "-", "-", "-", "-", "-", "-", "-",
                F(f?.Rmse), F(f?.RankIc), F(f?.HitRate), F(f?.Qlike));
        }
        AnsiConsole.Write(table);
        foreach (var r in outcome.Candidates.Where(r => r.Unavailable is not null))
            AnsiConsole.MarkupLine($"[yellow]{Markup.Escape(r.Model)} unavailable[/]: {Markup.Escape(r.Unavailable!)}");
        AnsiConsole.MarkupLine($"Registered [bold]{Markup.Escape(outcome.Model)}[/] v{outcome.Version} ({Markup.Escape(outcome.Winner)}), stage [bold]{outcome.Stage}[/]: {Markup.Escape(outcome.Decision)}");
        AnsiConsole.MarkupLine($"Artifact SHA-256 {outcome.ArtifactSha256}");
    }

    internal static string F(double? v) => v is null ? "-" : v.Value.ToString("0.0000", CultureInfo.InvariantCulture);
}

/// <summary>
/// The training app alone, in-process on the embedded runtime against a data directory, on an ephemeral loopback
/// port: what the train and models verbs need (workflow runner, registry, offline store), without the other services.
/// </summary>
internal static class EmbeddedTraining
{
    public static async Task<WebApplication> StartAsync(string dataDir, CancellationToken ct)
    {
        Directory.CreateDirectory(dataDir);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ApplicationName = "Platform.training", ContentRootPath = AppContext.BaseDirectory, Args = [],
        });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Runtime:Mode"] = "embedded",
            ["DataDir"] = Path.GetFullPath(dataDir),
            ["Logging:Format"] = "text",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Workflows:PollInterval"] = "00:00:00.200",
        });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.AddServiceDefaults(AppTopology.Training);
        builder.AddTraining();
        var app = builder.Build();
        app.MapServiceDefaults();
        app.MapTraining();
        await app.StartAsync(ct);
        return app;
    }
}
