//! `wharf admin …`: the same operations as the API, from the shell, on the same store.
//! Changes are audited with the actor `wharf-admin`.

use std::io::BufRead;

use crate::app::App;
use crate::config::{AdminCommand, OrgCommand, Settings, TwoFactorCommand, UserCommand};
use crate::domain::audit::Actor;
use crate::domain::policy::Role;

pub async fn run(settings: Settings, command: AdminCommand) -> anyhow::Result<()> {
    let store = crate::server::open_store(&settings).await?;
    let app = App::new(store.clone(), settings).await?;
    let actor = Actor::admin_cli();
    let outcome = match command {
        AdminCommand::User(UserCommand::Create { name, email, .. }) => {
            let password = read_password()?;
            app.create_user(&actor, &name, &email, &password)
                .await
                .map(|user| println!("created user {} ({})", user.username, user.email))
        }
        AdminCommand::User(UserCommand::SetPassword { name, .. }) => {
            let password = read_password()?;
            app.set_password(&actor, &name, &password)
                .await
                .map(|()| println!("password of {name} changed; its sessions have ended"))
        }
        AdminCommand::User(UserCommand::TwoFactor(TwoFactorCommand::Enable { name })) => app
            .enable_two_factor(&actor, &name)
            .await
            .map(|uri| println!("{uri}")),
        AdminCommand::User(UserCommand::TwoFactor(TwoFactorCommand::Disable { name })) => app
            .disable_two_factor(&actor, &name)
            .await
            .map(|()| println!("two-factor authentication disabled for {name}")),
        AdminCommand::Org(OrgCommand::Create { name, owner }) => app
            .create_org(&actor, &name, &owner)
            .await
            .map(|org| println!("created organization {} (owner {owner})", org.name)),
        AdminCommand::Org(OrgCommand::AddMember { org, user, role }) => {
            match Role::from_request("role", &role) {
                Ok(role) => app
                    .admin_add_member(&org, &user, role)
                    .await
                    .map(|()| println!("{user} is a member of {org} with role {}", role.as_str())),
                Err(e) => Err(e),
            }
        }
        AdminCommand::Backup { file } => app
            .store
            .backup_into(&file)
            .await
            .map(|()| println!("the store is backed up to {}", file.display()))
            .map_err(crate::domain::Error::from),
        AdminCommand::Org(OrgCommand::ScimToken { org }) => {
            app.admin_scim_token(&org).await.map(|token| println!("{token}"))
        }
    };
    store.close().await;
    outcome.map_err(|e| anyhow::anyhow!("{e}"))
}

/// One line from standard input, without its line ending.
fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    if password.is_empty() {
        anyhow::bail!("no password on standard input");
    }
    Ok(password)
}
