using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;

namespace Platform.Gateway.Dashboard.Pages;

public sealed class SignInModel(GatewayApi api, DashboardSignIn signIn) : DashboardPage(api)
{
    public override bool AllowsAnonymous => true;

    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    public bool Refused { get; private set; }

    public void OnGet() { }

    public async Task<IActionResult> OnPostAsync([FromForm] string? credential, CancellationToken ct)
    {
        var session = credential is { Length: > 0 } ? await signIn.VerifyAsync(credential, ct) : null;
        if (session is null)
        {
            Refused = true;
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            return Page();
        }
        await HttpContext.SignInAsync(DashboardSession.Scheme, session.ToPrincipal());
        // Only a path of this dashboard: never an open redirect.
        var target = ReturnUrl is { } r && r.StartsWith(DashboardExtensions.BasePath, StringComparison.Ordinal) && !r.StartsWith("//", StringComparison.Ordinal)
            ? r : DashboardExtensions.BasePath;
        return LocalRedirect(target);
    }

    public async Task<IActionResult> OnPostSignOutAsync()
    {
        await HttpContext.SignOutAsync(DashboardSession.Scheme);
        return LocalRedirect(DashboardExtensions.BasePath + "/sign-in");
    }
}
