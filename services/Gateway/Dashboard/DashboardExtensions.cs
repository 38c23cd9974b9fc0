using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.Core.Infrastructure;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.FileProviders;

namespace Platform.Gateway.Dashboard;

/// <summary>
/// The dashboard: Razor Pages under <c>/dashboard</c> (sources in <c>Dashboard/Pages</c>), its scripts and the chart
/// library under <c>/dashboard/assets</c>, a session cookie per signed-in user and antiforgery tokens on every form.
/// The pages read and change the platform only through the gateway's public API, with the user's credential.
/// </summary>
public static class DashboardExtensions
{
    public const string BasePath = "/dashboard";
    public const string AntiforgeryCookie = "platform.dashboard.csrf";
    public const string AntiforgeryHeader = "X-CSRF-TOKEN";

    public static WebApplicationBuilder AddDashboard(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.Configure<DashboardOptions>(builder.Configuration.GetSection("Dashboard"));
        var idle = builder.Configuration.GetSection("Dashboard").Get<DashboardOptions>()?.SessionIdle ?? new DashboardOptions().SessionIdle;
        services.AddRazorPages(o =>
        {
            o.RootDirectory = "/Dashboard/Pages";
            o.Conventions.ConfigureFilter(new DashboardSessionFilter());
            o.Conventions.ConfigureFilter(new AntiforgeryProblemFilter());
        });
        services.AddAuthentication().AddCookie(DashboardSession.Scheme, o =>
        {
            o.Cookie.Name = DashboardSession.CookieName;
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.Cookie.Path = BasePath;
            o.ExpireTimeSpan = idle;
            o.SlidingExpiration = true;
            o.LoginPath = BasePath + "/sign-in";
        });
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = AntiforgeryCookie;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.Cookie.Path = BasePath;
            o.HeaderName = AntiforgeryHeader;
        });
        // Each call is bounded by Dashboard:CallTimeout (GatewayApi); the client adds no bound of its own.
        services.AddHttpClient(GatewayApi.ClientName, c => c.Timeout = Timeout.InfiniteTimeSpan);
        services.AddSingleton<GatewayApi>();
        services.AddSingleton<DashboardSignIn>();
        return builder;
    }

    public static WebApplication MapDashboard(this WebApplication app)
    {
        var assets = Path.Combine(AppContext.BaseDirectory, "Dashboard", "assets");
        if (Directory.Exists(assets))
            app.UseStaticFiles(new StaticFileOptions { RequestPath = BasePath + "/assets", FileProvider = new PhysicalFileProvider(assets) });
        app.MapGet("/", () => Results.Redirect(BasePath)).ExcludeFromDescription();
        app.MapRazorPages();
        app.MapDashboardStreams();
        return app;
    }
}

/// <summary>Pages need a session (except sign-in); without one the browser is sent to sign in and back.</summary>
internal sealed class DashboardSessionFilter : IAsyncPageFilter
{
    public Task OnPageHandlerSelectionAsync(PageHandlerSelectedContext context) => Task.CompletedTask;

    public async Task OnPageHandlerExecutionAsync(PageHandlerExecutingContext context, PageHandlerExecutionDelegate next)
    {
        if (context.HandlerInstance is not DashboardPage page || page.AllowsAnonymous)
        {
            await next();
            return;
        }
        var session = await DashboardSession.ReadAsync(context.HttpContext);
        if (session is null)
        {
            var back = context.HttpContext.Request.Path + context.HttpContext.Request.QueryString;
            context.Result = new RedirectResult($"{DashboardExtensions.BasePath}/sign-in?returnUrl={Uri.EscapeDataString(back)}");
            return;
        }
        page.Session = session;
        await next();
    }
}

/// <summary>A form posted without a valid antiforgery token is refused with a problem details body, not an empty 400.</summary>
internal sealed class AntiforgeryProblemFilter : IAlwaysRunResultFilter
{
    public void OnResultExecuting(ResultExecutingContext context)
    {
        if (context.Result is not IAntiforgeryValidationFailedResult) return;
        context.Result = new ObjectResult(new ProblemDetails
        {
            Status = StatusCodes.Status400BadRequest,
            Title = "Missing or invalid antiforgery token.",
            Detail = "Every change made from the dashboard must carry the form's antiforgery token; reload the page and try again.",
            Type = "https://httpstatuses.io/400",
        })
        { StatusCode = StatusCodes.Status400BadRequest, ContentTypes = { "application/problem+json" } };
    }

    public void OnResultExecuted(ResultExecutedContext context) { }
}

/// <summary>The base of every dashboard page: the session (set by <see cref="DashboardSessionFilter"/>) and the API client.</summary>
public abstract class DashboardPage(GatewayApi api) : PageModel
{
    protected GatewayApi Api { get; } = api;

    public DashboardSession Session { get; set; } = null!;

    /// <summary>Errors from the API calls this page made, shown above its content.</summary>
    public List<string> Errors { get; } = [];

    public virtual bool AllowsAnonymous => false;

    /// <summary>A change the session's scopes do not allow: 403 problem details (the form was not offered to it).</summary>
    protected IActionResult MissingScope(string scope) => new ObjectResult(new ProblemDetails
    {
        Status = StatusCodes.Status403Forbidden,
        Title = "Forbidden",
        Detail = $"This action needs the scope '{scope}' (or 'admin'); you signed in with: {string.Join(", ", Session.Scopes.DefaultIfEmpty("none"))}.",
        Type = "https://httpstatuses.io/403",
    })
    { StatusCode = StatusCodes.Status403Forbidden, ContentTypes = { "application/problem+json" } };

    /// <summary>Calls the API; a failure is recorded for the page and answered with null.</summary>
    protected async Task<System.Text.Json.JsonElement?> GetOrNoteAsync(string pathAndQuery, CancellationToken ct)
    {
        var answer = await Api.GetAsync(Session, pathAndQuery, ct);
        if (answer.Ok) return answer.Body;
        // A page may make its calls side by side.
        lock (Errors) Errors.Add($"GET {pathAndQuery.Split('?')[0]}: {answer.Problem}");
        return null;
    }
}
