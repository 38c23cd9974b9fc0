using System.CommandLine;
using Platform.MarketData.Apis;
using Platform.MarketData.Import;
using Spectre.Console;

namespace Platform.Host.Commands;

/// <summary><c>./platform import PATH --symbol S</c>: one file into the offline store, all valid rows or nothing.</summary>
public sealed class ImportCommand : IPlatformCommand
{
    private const long ProgressBarBytes = 4L * 1024 * 1024;

    public Command Create()
    {
        var path = new Argument<FileInfo>("path") { Description = "A delimited bar file (Yahoo-style daily CSV, or any layout the detector or --columns understands)." };
        var symbol = new Option<string>("--symbol") { Description = "The symbol the bars belong to.", Required = true };
        var interval = new Option<string?>("--interval") { Description = "Bar interval (1m, 5m, 1h, 1d); inferred from the timestamps when omitted." };
        var skipInvalid = new Option<bool>("--skip-invalid") { Description = "Import the valid rows and report the invalid ones (default: import nothing if any row is invalid)." };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace stored bars that differ instead of reporting them as conflicts." };
        var columns = new Option<string?>("--columns") { Description = "Column roles by position, e.g. date,time,open,high,low,close,volume,skip." };
        var delimiter = new Option<string?>("--delimiter") { Description = "Field delimiter (',', ';', '\\t', '|'); detected when omitted." };
        var decimalSeparator = new Option<string?>("--decimal-separator") { Description = "Decimal separator ('.' or ','); detected when omitted." };
        var timeZone = new Option<string?>("--time-zone") { Description = "IANA time zone of intraday timestamps (default UTC)." };
        var dateFormat = new Option<string?>("--date-format") { Description = "Date (or date-time) format, e.g. yyyyMMdd; detected when omitted." };
        var timeFormat = new Option<string?>("--time-format") { Description = "Time format, e.g. HH:mm:ss; detected when omitted." };
        var dataDir = PlatformCommands.DataDirOption();
        var command = new Command("import", "Import a bar file into the offline store (one BarsImported event per changed series).")
        {
            path, symbol, interval, skipInvalid, overwrite, columns, delimiter, decimalSeparator, timeZone, dateFormat, timeFormat, dataDir,
        };
        command.SetAction(async (parse, ct) =>
        {
            var file = parse.GetValue(path)!;
            var request = new ImportRequest(parse.GetValue(symbol)!, Path: file.FullName, Interval: parse.GetValue(interval),
                SkipInvalid: parse.GetValue(skipInvalid), Overwrite: parse.GetValue(overwrite), Columns: parse.GetValue(columns),
                Delimiter: parse.GetValue(delimiter), DecimalSeparator: parse.GetValue(decimalSeparator), TimeZone: parse.GetValue(timeZone),
                DateFormat: parse.GetValue(dateFormat), TimeFormat: parse.GetValue(timeFormat));
            var (options, errors) = MarketDataApi.ToOptions(request);
            if (options is null)
            {
                foreach (var (key, messages) in errors) foreach (var m in messages) Console.Error.WriteLine($"--{key}: {m}");
                return 2;
            }
            if (!file.Exists)
            {
                Console.Error.WriteLine($"{file}: file not found");
                return 1;
            }

            await using var cli = await MarketDataCli.OpenAsync(parse.GetValue(dataDir)!.FullName, ct);
            var importer = cli.Get<BarImporter>();
            ImportReport report;
            if (file.Length >= ProgressBarBytes && !Console.IsOutputRedirected)
            {
                report = await AnsiConsole.Progress().AutoClear(true).StartAsync(async context =>
                {
                    var task = context.AddTask($"Importing {Markup.Escape(file.Name)}", maxValue: file.Length);
                    var progress = new Progress<ImportProgress>(p => task.Value = p.BytesRead);
                    var result = await importer.ImportFileAsync(file.FullName, options, progress, ct);
                    task.Value = file.Length;
                    return result;
                });
            }
            else report = await importer.ImportFileAsync(file.FullName, options, null, ct);

            foreach (var note in report.Notes) Console.WriteLine($"{file}: note: {note}");
            foreach (var message in report.Messages()) Console.Error.WriteLine(message.Replace(file.FullName, file.ToString()));
            if (!report.Committed)
            {
                Console.Error.WriteLine($"{file}: nothing imported ({report.Rejected.Count} row(s) rejected).");
                return 1;
            }
            var events = await cli.DrainOutboxAsync(ct);
            Console.WriteLine($"{file}: {report.Symbol} {report.Interval}: {report.Rows} rows, {report.Inserted} new, {report.Updated} updated, "
                + $"{report.Unchanged} unchanged, {report.Rejected.Count} skipped; {events} event(s) published"
                + (report.From is { } f ? $"; {f:yyyy-MM-dd HH:mm} .. {report.To:yyyy-MM-dd HH:mm} UTC" : ""));
            return 0;
        });
        return command;
    }
}
