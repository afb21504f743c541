# This runbook creates a temporary access pass for a user.
#
# It uses the automation account's managed identity. Make sure it has
# enough Graph permissions.
#
# Permissions needed:
# - UserAuthenticationMethod.ReadWrite.All

#Requires -Modules MEMPSToolkit, RealmJoin.RunbookHelper

param(
    [Parameter(Mandatory = $true)]
    [String]$UserName,
    # How long (starting now) is the pass valid?
    [ValidateScript( { Use-RJInterface -Type Number } )]
    [int] $lifetimeInMinutes = 240,
    # Is this a one-time pass (preferred); usable several times otherwise
    [bool] $oneTimeUseOnly = $true
)

#region module check
function Test-ModulePresent {
    param(
        [Parameter(Mandatory = $true)]
        [string]$neededModule
    )
    if (-not (Get-Module -ListAvailable $neededModule)) {
        throw ($neededModule + " is not available.")
    }
}
#endregion

"New pass for $UserName valid for $lifetimeInMinutes minutes: $($pass.temporaryAccessPass)"
