//! `danmaku-wall`: flags → config → logger → the event loop.

use std::process::ExitCode;

use danmaku_wall::config::{self, Command};

fn main() -> ExitCode {
    let mut config = match config::parse_args(std::env::args().skip(1)) {
        Ok(Command::Run(config)) => config,
        Ok(Command::Help) => {
            print!("{}", config::HELP);
            return ExitCode::SUCCESS;
        }
        Err(why) => {
            eprintln!("danmaku-wall: {why}");
            return ExitCode::from(2);
        }
    };
    let env_token = std::env::var("DANMAKU_ADMIN_TOKEN").ok();
    match config::admin_token(config.admin_token_file.as_deref(), env_token) {
        Ok(token) => config.admin_token = token,
        Err(why) => {
            eprintln!("danmaku-wall: {why}");
            return ExitCode::from(2);
        }
    }
    if let Err(e) = simple_logger::SimpleLogger::new().with_level(config.log_level).init() {
        eprintln!("danmaku-wall: cannot start logging: {e}");
    }
    match danmaku_wall::server::run(*config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if config::is_bad_flag_value(&e) => {
            log::error!("{e}");
            ExitCode::from(2)
        }
        Err(e) => {
            log::error!("{e}");
            ExitCode::FAILURE
        }
    }
}
