using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Platform.Modeling.Registry;
using Spectre.Console;

namespace Platform.Host.Commands;

/// <summary><c>./platform models list|show|promote|rollback|archive</c>: the model registry, in-process on the embedded runtime.</summary>
public sealed class ModelsCommand : IPlatformCommand
{
    public Command Create()
    {
        var command = new Command("models", "List, inspect, promote, roll back and archive registered models.");
        var dataDir = PlatformCommands.DataDirOption();

        var list = new Command("list", "Registered models with their champion and challenger.") { dataDir };
        list.SetAction((parse, ct) => WithRegistry(parse.GetValue(dataDir)!, ct, async registry =>
        {
            var table = new Table();
            foreach (var c in new[] { "model", "versions", "champion", "challenger", "updated" }) table.AddColumn(c);
            foreach (var name in await registry.ListModelsAsync(ct))
                if (await registry.GetEntryAsync(name, ct) is { } e)
                    table.AddRow(Markup.Escape(name), e.LatestVersion.ToString(CultureInfo.InvariantCulture), V(e.Champion), V(e.Challenger), e.UpdatedAt.ToString("u", CultureInfo.InvariantCulture));
            AnsiConsole.Write(table);
            return 0;
        }));

        var name = new Argument<string>("name") { Description = "Model name." };
        var show = new Command("show", "Versions of a model with stage, metrics and lineage.") { dataDir, name };
        show.SetAction((parse, ct) => WithRegistry(parse.GetValue(dataDir)!, ct, async registry =>
        {
            var table = new Table().Title(Markup.Escape(parse.GetValue(name)!));
            foreach (var c in new[] { "version", "stage", "aliases", "kind", "rank IC", "IC", "RMSE", "QLIKE", "dataset", "sha256", "created" }) table.AddColumn(c);
            foreach (var v in await registry.ListVersionsAsync(parse.GetValue(name)!, ct))
            {
                var m = v.Lineage.Aggregate;
                table.AddRow(v.Version.ToString(CultureInfo.InvariantCulture), v.Stage.ToString(), string.Join(",", v.Aliases ?? []), Markup.Escape(v.Lineage.Kind),
                    TrainCommand.F(m?.RankIc), TrainCommand.F(m?.Ic), TrainCommand.F(m?.Rmse), TrainCommand.F(m?.Qlike),
                    v.Lineage.DatasetFingerprint[..Math.Min(12, v.Lineage.DatasetFingerprint.Length)], v.ArtifactSha256[..12], v.CreatedAt.ToString("u", CultureInfo.InvariantCulture));
            }
            AnsiConsole.Write(table);
            return 0;
        }));

        var version = new Argument<int>("version") { Description = "Version number." };
        var stage = new Option<ModelStage>("--stage") { Description = "Staging or Production.", DefaultValueFactory = _ => ModelStage.Production };
        var metric = new Option<string?>("--policy-metric") { Description = "Require the version to beat the champion on this metric (rank_ic, ic, rmse, qlike, ...)." };
        var margin = new Option<double>("--margin") { Description = "Required improvement on --policy-metric.", DefaultValueFactory = _ => 0.0 };
        var promote = new Command("promote", "Promote a version to Staging or Production.") { dataDir, name, version, stage, metric, margin };
        promote.SetAction((parse, ct) => WithRegistry(parse.GetValue(dataDir)!, ct, async registry =>
        {
            var policy = parse.GetValue(metric) is { } m ? new PromotionPolicy(m, parse.GetValue(margin)) : null;
            Print(await registry.PromoteAsync(parse.GetValue(name)!, parse.GetValue(version), parse.GetValue(stage), policy, ct));
            return 0;
        }));

        var rollback = new Command("rollback", "Restore the previous champion.") { dataDir, name };
        rollback.SetAction((parse, ct) => WithRegistry(parse.GetValue(dataDir)!, ct, async registry =>
        {
            Print(await registry.RollbackAsync(parse.GetValue(name)!, ct));
            return 0;
        }));

        var archive = new Command("archive", "Archive a version that is not the champion.") { dataDir, name, version };
        archive.SetAction((parse, ct) => WithRegistry(parse.GetValue(dataDir)!, ct, async registry =>
        {
            Print(await registry.ArchiveAsync(parse.GetValue(name)!, parse.GetValue(version), ct));
            return 0;
        }));

        command.Add(list);
        command.Add(show);
        command.Add(promote);
        command.Add(rollback);
        command.Add(archive);
        return command;
    }

    private static string V(int? v) => v?.ToString(CultureInfo.InvariantCulture) ?? "-";

    private static void Print(TransitionResult r) =>
        AnsiConsole.MarkupLine($"[green]{Markup.Escape(r.Model)} v{r.Version}[/] -> {r.Stage} (champion {V(r.Champion)}, challenger {V(r.Challenger)}). {Markup.Escape(r.Reason)}");

    /// <summary>Runs a registry action against the data directory through the embedded training app (events go to the embedded pub/sub log).</summary>
    private static async Task<int> WithRegistry(DirectoryInfo dataDir, CancellationToken ct, Func<ModelRegistry, Task<int>> action)
    {
        await using var app = await EmbeddedTraining.StartAsync(dataDir.FullName, ct);
        try
        {
            return await action(app.Services.GetRequiredService<ModelRegistry>());
        }
        catch (RegistryException ex)
        {
            AnsiConsole.MarkupLine($"[red]{Markup.Escape(ex.Message)}[/]");
            return 1;
        }
    }
}
